// strip: drop what a phone does not need to run the model: long tensor names
// and doc strings.
//
// Exporters name every tensor after its layer path ("StatefulPartitionedCall/
// model/conv2d_3/BiasAdd:0"), and a name is stored once per producer and once
// per consumer; on small models that is 5-10% of the file (BlazeFace: 40 kB of
// 442 kB). strip(names) renames every tensor except the main graph's inputs and
// outputs (the app's API) to a short base-36 name ("0", "1", ... "a", ... "10")
// and clears node names; strip(docs) clears doc strings. Metadata (pare's
// provenance, trim records) and the graph's I/O are kept.
//
// Run it last: per-layer error and `cut` address tensors by name.
#include <set>

#include "passes/pass.h"

namespace pare::passes {
namespace {

std::string base36(int64_t n) {
  static const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  do {
    s.insert(s.begin(), digits[n % 36]);
    n /= 36;
  } while (n > 0);
  return s;
}

class Strip : public Pass {
 public:
  Strip(bool names, bool docs) : names_(names), docs_(docs) {}

  void run(ir::Model& model, PassContext& ctx) override {
    ir::Graph& main = *model.graph;
    std::set<std::string> kept;
    for (const ir::Value* v : main.inputs) kept.insert(v->name());
    for (const ir::Value* v : main.outputs) kept.insert(v->name());
    int64_t next = 0, saved = 0;
    auto fresh = [&] {
      std::string n;
      do n = base36(next++);
      while (kept.count(n));
      return n;
    };
    ir::for_each_graph(main, [&](ir::Graph& g) {
      if (names_) {
        for (ir::Value* v : g.values()) {
          if (kept.count(v->name()) && &g == &main) continue;
          std::string n = fresh();
          saved += static_cast<int64_t>(v->name().size()) - static_cast<int64_t>(n.size());
          g.rename(v, n);
          v->constant_node_name.clear();
          ++ctx.stats["tensors_renamed"];
        }
        for (const auto& n : g.nodes()) {
          saved += static_cast<int64_t>(n->name.size());
          if (!n->name.empty()) ++ctx.stats["node_names_cleared"];
          n->name.clear();
        }
      }
      if (docs_) {
        g.doc_string.clear();
        for (const auto& n : g.nodes()) n->doc_string.clear();
        for (ir::Value* v : g.values()) {
          v->doc_string.clear();
          v->constant_node_doc.clear();
        }
      }
    });
    if (docs_) model.doc_string.clear();
    ctx.stats["name_bytes_saved"] = saved;
  }

 private:
  bool names_, docs_;
};

}  // namespace

extern const PassInfo kStripPass = {
    "strip",
    "shorten tensor names and clear node names and doc strings (graph inputs and outputs keep theirs); run it last",
    {
        {"names", OptionType::kBool, "true", "rename inner tensors to short names and clear node names"},
        {"docs", OptionType::kBool, "true", "clear doc strings"},
    },
    [](const OptionValues& v) -> std::unique_ptr<Pass> {
      return std::make_unique<Strip>(v.flag("names"), v.flag("docs"));
    },
};

}  // namespace pare::passes
