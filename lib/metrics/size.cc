#include "lib/metrics/size.h"

#include <map>
#include <algorithm>
#include <zlib.h>

#include <filesystem>
#include <set>

#include "lib/base/atomic_file.h"
#include "lib/base/error.h"

namespace pare::metrics {

int64_t deflate_size(const std::string& bytes) {
  z_stream zs{};
  // windowBits -15: raw deflate, as inside a zip or gzip container, without their headers.
  if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) throw InternalError("deflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  std::vector<unsigned char> out(1 << 16);
  int64_t total = 0;
  int rc;
  do {
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    rc = deflate(&zs, Z_FINISH);
    total += static_cast<int64_t>(out.size() - zs.avail_out);
  } while (rc == Z_OK || rc == Z_BUF_ERROR);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw InternalError("deflate failed");
  return total;
}

FileSize measure_file(const std::string& path) { return measure_bytes(read_file(path), path); }

FileSize measure_bytes(const std::string& bytes, const std::string& path) {
  FileSize s;
  s.file_bytes = static_cast<int64_t>(bytes.size());
  s.download_bytes = deflate_size(bytes);
  std::string data = path + ".data";
  if (!path.empty() && std::filesystem::exists(data)) {
    std::string extra = read_file(data);
    s.file_bytes += static_cast<int64_t>(extra.size());
    s.download_bytes += deflate_size(extra);
  }
  return s;
}

WeightStats count_weights(const ir::Model& model) {
  WeightStats w;
  ir::for_each_graph(*model.graph, [&](const ir::Graph& g) {
    for (const ir::Value* v : g.constants()) {
      const ir::Tensor& t = v->constant();
      std::string dt(ir::name(t.dtype()));
      w.parameters += t.numel();
      w.parameters_by_dtype[dt] += t.numel();
      int64_t bytes = t.dtype() == ir::DataType::kString ? 0 : static_cast<int64_t>(t.byte_size());
      for (const auto& s : t.string_values()) bytes += static_cast<int64_t>(s.size());
      w.weight_bytes += bytes;
      w.bytes_by_dtype[dt] += bytes;
      ++w.constants;
    }
  });
  return w;
}

std::vector<LayerWeights> weights_by_layer(const ir::Model& model) {
  std::vector<LayerWeights> out;
  std::map<const ir::Node*, size_t> index;
  ir::for_each_graph(*model.graph, [&](const ir::Graph& g) {
    // Values computed from constants only (DequantizeLinear of int8 weights...).
    std::set<const ir::Value*> constant_derived = ir::constant_derived_values(g);
    for (const ir::Value* v : g.constants()) {
      const ir::Tensor& t = v->constant();
      if (t.dtype() == ir::DataType::kString) continue;
      // Follow the first use through constant-only nodes to the node that computes with it.
      const ir::Value* at = v;
      const ir::Node* user = nullptr;
      for (int hops = 0; hops < 8 && !at->uses().empty(); ++hops) {
        user = at->uses().front().node;
        if (user->outputs().empty() || !constant_derived.count(user->output(0))) break;
        at = user->output(0);
      }
      if (!user) continue;
      auto [it, fresh] = index.emplace(user, out.size());
      if (fresh) {
        std::string name = ir::node_label(*user);
        out.push_back({name, user->op_type, 0, 0});
      }
      out[it->second].bytes += static_cast<int64_t>(t.byte_size());
      out[it->second].parameters += t.numel();
    }
  });
  std::stable_sort(out.begin(), out.end(), [](const LayerWeights& a, const LayerWeights& b) { return a.bytes > b.bytes; });
  return out;
}

GraphStats count_nodes(const ir::Model& model) {
  GraphStats s;
  s.nodes = static_cast<int64_t>(model.graph->nodes().size());
  ir::for_each_graph(*model.graph, [&](const ir::Graph& g) {
    for (const auto& n : g.nodes()) {
      ++s.nodes_total;
      bool default_domain = n->domain.empty() || n->domain == "ai.onnx";
      ++s.ops[default_domain ? n->op_type : n->domain + ":" + n->op_type];
    }
  });
  return s;
}

}  // namespace pare::metrics
