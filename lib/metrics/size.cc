#include "lib/metrics/size.h"

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

FileSize measure_file(const std::string& path) {
  FileSize s;
  std::string bytes = read_file(path);
  s.file_bytes = static_cast<int64_t>(bytes.size());
  s.download_bytes = deflate_size(bytes);
  std::string data = path + ".data";
  if (std::filesystem::exists(data)) {
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
