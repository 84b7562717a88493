// palettize(bits=N): each weight of Conv, ConvTranspose, Gemm and MatMul becomes
// a float16 scale per output channel (its largest |w|), a sorted table of at
// most 2^N values clustering the scaled weights w / S[c] (deterministic
// k-means, palettize.h; stored as float16) and one index per weight, rebuilt
// by standard ONNX ops:
//   Before:  y = Conv(x, W)                                    W float32
//   After:   y = Conv(x, Mul(Gather(Cast<to=float>(T), Cast<to=int32>(I)), Cast<to=float>(S)))
//            I indices, T float16 [2^N], S float16 [C, 1, 1, 1]
// The scales undo what folded BatchNorm does to a layer (every output channel
// multiplied by its own gamma / sigma): without them one table serves channels
// of very different sizes and the narrow ones get a level or two
// (docs/quantization.md: classifier 4-bit 86.1% -> 94.3%). channel-scale=false
// drops them, and the table holds the weights themselves, as float32:
// y = Conv(x, Gather(T, Cast<to=int32>(I))).
// With group=G every G output channels have their own table; the tables are
// stored one after another and each index is offset by its group's start:
//   After:   Gather(T, Add(Cast<to=int32>(I), O))  O int32, O[c] = (c / G) * 2^N
// Like quantize, the model still computes in float32: the runner and ONNX
// Runtime evaluate the constant Cast/Gather once, at load (fold refuses to undo
// them because that would grow the file).
//
// With gptq=DIR each weight's index is chosen by GPTQ (passes/gptq.h) on the
// samples of DIR: the tables are the same k-means tables, but a weight may take
// the entry on the other side of its value when that lets the weights of later
// input positions cancel the layer's output error.
//
// How the indices are stored (the values are the same either way): one per byte
// (uint8), or for N <= 4, packed two per byte as uint4, which needs opset 21;
// with packed=true (default) the model is raised to 21 (upgrade_opset) and each
// tensor keeps whichever deflates smaller, measured with the download's zlib
// settings. Measured: packed indices cut the 4-bit download of PP-OCRv4 det by
// 9% (docs/quantization.md). 2-bit indices stay one per byte: ONNX has no 2-bit
// type before opset 25.
//
// What is not palettized (each counted in the stats as kept_<reason>):
//   small      fewer than min-size elements, or fewer than 2 per table entry
//              (the table would cost about what it saves): stays float32
//   depthwise  below 6 bits, Conv kernels with one input channel per group (9
//              weights per channel for 3x3): few weights, each channel's
//              sharpest filter (classifier 4-bit: 17.0 dB kept, 11.6 dB
//              palettized). From 6 bits up a table of 64 shapes keeps them as
//              well as int8 does (classifier 6-bit: 27.1 dB kept, 27.6 dB
//              palettized) in fewer bytes, so depthwise=auto (default)
//              palettizes them there; depthwise=true or false at every width
//   first      the kernel of a Conv that reads a graph input directly (3 input
//              channels: small, and its error reaches every later layer);
//              palettize it with first=true
//   skip       a node-name glob of skip= matches a consumer: stays float32
//   non-finite a weight holds inf or NaN: stays float32
// With kept=int8 (default) the depthwise and first-layer kernels are stored as
// per-channel int8 (quantize(int8, weights-only)'s rewrite) and the biases of
// Conv, ConvTranspose and Gemm as float16 behind a Cast; kept=float16 stores the
// kernels as float16 too; kept=float32 leaves them all as they are. Every other
// constant stays as it is.
#include "passes/palettize.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>

#include "lib/base/fp16.h"
#include "lib/base/strings.h"
#include "passes/bias_correct.h"
#include "passes/gptq.h"
#include "passes/select.h"
#include "passes/opset.h"
#include "passes/pass.h"
#include "passes/quantize.h"

namespace pare::passes {

namespace {

struct Distinct {
  std::vector<double> value, count;  // sorted distinct values and how often each occurs
  std::vector<double> sum_count, sum_value;  // prefix sums: [i] = over the first i distinct values
};

Distinct distinct_of(std::vector<float> sorted) {
  Distinct d;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    d.value.push_back(sorted[i]);
    d.count.push_back(static_cast<double>(j - i));
    i = j;
  }
  d.sum_count.assign(d.value.size() + 1, 0.0);
  d.sum_value.assign(d.value.size() + 1, 0.0);
  for (size_t i = 0; i < d.value.size(); ++i) {
    d.sum_count[i + 1] = d.sum_count[i] + d.count[i];
    d.sum_value[i + 1] = d.sum_value[i] + d.count[i] * d.value[i];
  }
  return d;
}

// One Lloyd step in 1-D: cluster j holds the distinct values between the
// midpoints to its neighbours (a value on a midpoint goes to the lower one);
// each non-empty cluster moves to its weighted mean. True if anything moved.
bool lloyd_step(const Distinct& d, std::vector<double>& centroids) {
  size_t k = centroids.size();
  std::vector<size_t> start(k + 1, 0);
  start[k] = d.value.size();
  for (size_t j = 1; j < k; ++j) {
    double mid = 0.5 * (centroids[j - 1] + centroids[j]);
    start[j] = static_cast<size_t>(std::upper_bound(d.value.begin(), d.value.end(), mid) - d.value.begin());
    start[j] = std::max(start[j], start[j - 1]);
  }
  bool moved = false;
  for (size_t j = 0; j < k; ++j) {
    double n = d.sum_count[start[j + 1]] - d.sum_count[start[j]];
    if (n <= 0) continue;  // empty: stays where it is
    double mean = (d.sum_value[start[j + 1]] - d.sum_value[start[j]]) / n;
    if (mean != centroids[j]) moved = true;
    centroids[j] = mean;
  }
  return moved;
}

// Index of the nearest entry of a sorted table (ties: the lower).
uint8_t nearest(const std::vector<double>& midpoints, float v) {
  return static_cast<uint8_t>(std::lower_bound(midpoints.begin(), midpoints.end(), static_cast<double>(v)) -
                              midpoints.begin());
}

// Sum over the distinct values of count * (value - nearest centroid)^2.
double distortion(const Distinct& d, const std::vector<double>& centroids) {
  double total = 0;
  size_t j = 0;
  for (size_t i = 0; i < d.value.size(); ++i) {
    while (j + 1 < centroids.size() && d.value[i] > 0.5 * (centroids[j] + centroids[j + 1])) ++j;
    total += d.count[i] * (d.value[i] - centroids[j]) * (d.value[i] - centroids[j]);
  }
  return total;
}

std::vector<double> lloyd(const Distinct& d, std::vector<double> centroids) {
  for (int it = 0; it < kPaletteIterations && lloyd_step(d, centroids); ++it) {
  }
  return centroids;
}

}  // namespace

Palette palettize_values(std::span<const float> values, int bits) {
  PARE_CHECK(bits >= 1 && bits <= 8, "palette of {} bits", bits);
  size_t k = size_t{1} << bits;
  std::vector<float> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  Distinct d = distinct_of(sorted);
  Palette p;
  if (d.value.size() <= k) {
    for (double v : d.value) p.table.push_back(static_cast<float>(v));
  } else {
    // Two fixed starts, the better result kept: quantiles (good for few
    // entries) and an even grid over [min, max] (reaches the tails, which
    // quantiles starve when there are many entries; Lloyd never does worse than
    // its start, so the table beats evenly spaced levels).
    std::vector<double> quantiles(k), grid(k);
    double lo = sorted.front(), hi = sorted.back();
    for (size_t j = 0; j < k; ++j) {
      quantiles[j] = sorted[static_cast<size_t>((j + 0.5) * sorted.size() / k)];
      grid[j] = lo + (hi - lo) * static_cast<double>(j) / static_cast<double>(k - 1);
    }
    quantiles = lloyd(d, quantiles);
    grid = lloyd(d, grid);
    const std::vector<double>& centroids = distortion(d, grid) < distortion(d, quantiles) ? grid : quantiles;
    for (double c : centroids) p.table.push_back(static_cast<float>(c));
    std::sort(p.table.begin(), p.table.end());
    p.table.erase(std::unique(p.table.begin(), p.table.end()), p.table.end());
  }
  std::vector<double> midpoints;
  for (size_t j = 1; j < p.table.size(); ++j) midpoints.push_back(0.5 * (double{p.table[j - 1]} + p.table[j]));
  p.index.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) p.index[i] = nearest(midpoints, values[i]);
  return p;
}

namespace {

struct PalettizeOptions {
  int bits;
  int64_t group, min_size;
  bool depthwise, first;
  NodeGlobs globs;  // skip= and only=
  bool packed = true;          // bits <= 4: raise to opset 21 for uint4 indices
  enum class Kept { kFloat32, kFloat16, kInt8 };
  Kept kept = Kept::kInt8;     // how depthwise and first-layer kernels stay (biases: float16 unless kFloat32)
  std::string correct;         // samples for empirical bias correction (bias_correct.h)
  bool channel_scale = true;   // a float16 scale per output channel times a table of shapes
  std::string gptq;            // samples for error-compensating index choice (gptq.h)
  bool sequential = true;      // gptq= in graph order, aiming at the float output (gptq.h)
  bool uint4_allowed = false;  // set from the model: opset 21 or later
  bool if_any = false;         // no weight qualifying leaves the model as it is instead of failing
};

// Raw deflate size at level 9, as the download is measured (lib/metrics/size.cc;
// passes do not reach into metrics, so the few lines are here).
int64_t deflated_size(const std::vector<uint8_t>& bytes) {
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) throw InternalError("deflateInit2 failed");
  std::vector<uint8_t> out(deflateBound(&zs, static_cast<uLong>(bytes.size())));
  zs.next_in = const_cast<Bytef*>(bytes.data());
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  int64_t n = static_cast<int64_t>(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw InternalError("deflate failed");
  return n;
}

// Indices below 16, two per byte, the first in the low nibble (ONNX's uint4).
std::vector<uint8_t> pack_nibbles(const std::vector<uint8_t>& index) {
  std::vector<uint8_t> packed((index.size() + 1) / 2, 0);
  for (size_t i = 0; i < index.size(); ++i) packed[i / 2] |= static_cast<uint8_t>(index[i] << (4 * (i % 2)));
  return packed;
}

bool is_depthwise_kernel(const ir::Node& n, const ir::Tensor& w) {
  return n.op_type == "Conv" && n.attr_int("group", 1) > 1 && w.rank() >= 3 && w.dims()[1] == 1;
}

// Read only as the bias (input 2) of Conv, ConvTranspose or Gemm.
bool is_bias(const ir::Value* v) {
  for (const ir::Use& u : v->uses())
    if (u.index != 2 || !u.node->domain.empty() ||
        (u.node->op_type != "Conv" && u.node->op_type != "ConvTranspose" && u.node->op_type != "Gemm"))
      return false;
  return !v->uses().empty();
}

// A float32 constant the pass may store otherwise (a weight, or a bias it
// stores as float16): read by some node, neither a graph input nor an output.
bool in_use_float(const ir::Value* v) {
  return !v->is_graph_output() && !v->is_graph_input() && !v->uses().empty() &&
         v->constant().dtype() == ir::DataType::kFloat;
}

bool reads_graph_input(const ir::Node& n) {
  const ir::Value* x = n.input(0);
  return x && x->is_graph_input() && !x->is_constant();
}

// Why weight `v` stays float32, or "" when it is palettized. `axis` is its
// output-channel axis (-1: not a weight of the ops this pass handles).
std::string kept_reason(const ir::Value* v, int64_t axis, const PalettizeOptions& o) {
  const ir::Tensor& t = v->constant();
  for (const ir::Use& u : v->uses())
    if (!o.globs.selects(*u.node)) return "skip";
  int64_t per_table = o.group > 0 ? t.numel() / t.dims()[axis] * std::min(o.group, t.dims()[axis]) : t.numel();
  if (t.numel() < o.min_size || per_table < 2 * (int64_t{1} << o.bits)) return "small";
  for (const ir::Use& u : v->uses()) {
    if (!o.depthwise && is_depthwise_kernel(*u.node, t)) return "depthwise";
    if (!o.first && u.node->op_type == "Conv" && reads_graph_input(*u.node)) return "first";
  }
  for (float f : t.span<float>())
    if (!std::isfinite(f)) return "non-finite";
  return "";
}

// Stores `v` as table + indices (+ group offsets) behind Cast/Gather. With
// `moments` (gptq=), each weight's index is chosen by GPTQ among its table's
// entries instead of the nearest one.
void palettize_weight(ir::Graph& g, ir::Value* v, int64_t axis, const PalettizeOptions& o, const InputMoments* moments,
                      PassContext& ctx) {
  const ir::Tensor& t = v->constant();
  auto w = t.span<float>();
  int64_t channels = t.dims()[axis], inner = 1;
  for (size_t i = axis + 1; i < t.rank(); ++i) inner *= t.dims()[i];
  int64_t group = o.group > 0 ? std::min(o.group, channels) : channels;
  int64_t groups = (channels + group - 1) / group;
  auto channel_of = [&](size_t i) { return (static_cast<int64_t>(i) / inner) % channels; };
  auto group_of = [&](size_t i) { return channel_of(i) / group; };

  // channel-scale: the table holds shapes, each channel its own size. Folded
  // BatchNorm scales every output channel by its own gamma / sigma; one table
  // for all of them spends its entries on the widest channels.
  std::vector<uint16_t> scale16;
  std::vector<float> scale;
  if (o.channel_scale) {
    scale.assign(channels, 0.0f);
    for (size_t i = 0; i < w.size(); ++i) scale[channel_of(i)] = std::max(scale[channel_of(i)], std::fabs(w[i]));
    for (float& m : scale) {
      // float16, as stored; a channel of zeros (or below float16's range) keeps 1.
      uint16_t h = float_to_half(std::min(m, 65504.0f));
      if (half_to_float(h) < 6.103515625e-05f) h = float_to_half(1.0f);
      scale16.push_back(h);
      m = half_to_float(h);
    }
  }
  std::vector<std::vector<float>> members(groups);
  for (size_t i = 0; i < w.size(); ++i) members[group_of(i)].push_back(o.channel_scale ? w[i] / scale[channel_of(i)] : w[i]);
  std::vector<Palette> palettes;
  size_t k = 0;
  for (const auto& m : members) {
    palettes.push_back(palettize_values(m, o.bits));
    k = std::max(k, palettes.back().table.size());
  }
  // Tables of one size, one after another (a short table is padded with its last value, never indexed).
  std::vector<float> table;
  for (const Palette& p : palettes) {
    table.insert(table.end(), p.table.begin(), p.table.end());
    table.resize(table.size() + k - p.table.size(), p.table.back());
  }
  std::vector<uint8_t> index(w.size());
  std::vector<size_t> next(groups, 0);
  for (size_t i = 0; i < w.size(); ++i) {
    int64_t gi = group_of(i);
    index[i] = palettes[gi].index[next[gi]++];
  }
  if (moments) {
    // The entries as the graph computes them: float16 table times float16 scale.
    std::vector<std::vector<double>> entries(groups), midpoints(groups);
    for (int64_t gi = 0; gi < groups; ++gi) {
      for (float f : palettes[gi].table) entries[gi].push_back(o.channel_scale ? half_to_float(float_to_half(f)) : f);
      for (size_t j = 1; j < entries[gi].size(); ++j) midpoints[gi].push_back(0.5 * (entries[gi][j - 1] + entries[gi][j]));
    }
    bool measured = moments->round(*v, [&](size_t i, double value) {
      int64_t c = channel_of(i), gi = c / group;
      double s = o.channel_scale ? double{scale[c]} : 1.0;
      auto j = std::lower_bound(midpoints[gi].begin(), midpoints[gi].end(), value / s) - midpoints[gi].begin();
      index[i] = static_cast<uint8_t>(j);
      return static_cast<double>(static_cast<float>(entries[gi][static_cast<size_t>(j)]) * static_cast<float>(s));
    });
    ++ctx.stats[measured ? "gptq_rounded" : "gptq_unmeasured"];
  }

  // The same indices one per byte or, from opset 21 and for at most 16 entries,
  // packed as uint4: whichever deflates smaller (values are the same either way).
  ir::Tensor indices(ir::DataType::kUint8, t.dims(), index);
  if (o.uint4_allowed && k <= 16) {
    std::vector<uint8_t> packed = pack_nibbles(index);
    if (deflated_size(packed) < deflated_size(index)) indices = ir::Tensor(ir::DataType::kUint4, t.dims(), packed);
  }
  ++ctx.stats[indices.dtype() == ir::DataType::kUint4 ? "indices_uint4" : "indices_uint8"];
  ir::Value* idx = g.add_constant(g.unique_name("p" + std::to_string(o.bits)), indices, v->constant_origin);
  // With channel scales the table holds shapes in [-1, 1], stored as float16:
  // its rounding (2^-11 relative) is far below the spacing of 2^bits entries,
  // and it halves the table (the classifier's 6-bit download 1% smaller).
  std::vector<int64_t> table_dims = {static_cast<int64_t>(table.size())};
  std::vector<uint16_t> table16;
  for (float f : table) table16.push_back(float_to_half(f));
  ir::Value* tab = g.add_constant(g.unique_name("pt"), o.channel_scale ? float16_tensor(table_dims, table16)
                                                                       : ir::Tensor::from<float>(table_dims, table));
  replace_constant(g, v, [&](const std::string& name) {
    ir::Value* entries = o.channel_scale ? add_cast(g, tab, ir::DataType::kFloat, g.unique_name("pt"))->output(0) : tab;
    ir::Value* at = add_cast(g, idx, ir::DataType::kInt32, g.unique_name("pi"))->output(0);
    if (groups > 1) {
      std::vector<int64_t> offset_dims(t.rank(), 1);
      offset_dims[axis] = channels;
      std::vector<int32_t> offsets(channels);
      for (int64_t c = 0; c < channels; ++c) offsets[c] = static_cast<int32_t>(c / group * static_cast<int64_t>(k));
      ir::Value* off = g.add_constant(g.unique_name("po"), ir::Tensor::from<int32_t>(offset_dims, offsets));
      at = g.add_node("Add", {at, off}, {g.unique_name("pi")})->output(0);
    }
    if (!o.channel_scale) return g.add_node("Gather", {entries, at}, {name});
    ir::Value* shapes = g.add_node("Gather", {entries, at}, {g.unique_name("pg")})->output(0);
    std::vector<int64_t> scale_dims(t.rank(), 1);
    scale_dims[axis] = channels;
    ir::Value* s16 = g.add_constant(g.unique_name("ps"), float16_tensor(scale_dims, scale16));
    return g.add_node("Mul", {shapes, add_cast(g, s16, ir::DataType::kFloat, g.unique_name("ps"))->output(0)}, {name});
  });
}

// Whether depthwise kernels are palettized: depthwise=auto from 6 bits up.
bool depthwise_of(const std::string& choice, int64_t bits) { return choice == "true" || (choice == "auto" && bits >= 6); }

PalettizeOptions::Kept kept_of(const std::string& kept) {
  if (kept == "int8") return PalettizeOptions::Kept::kInt8;
  return kept == "float16" ? PalettizeOptions::Kept::kFloat16 : PalettizeOptions::Kept::kFloat32;
}

class Palettize : public Pass {
 public:
  explicit Palettize(PalettizeOptions o) : o_(std::move(o)) {}

  void run(ir::Model& model, PassContext& ctx) override {
    // if-any with nothing to palettize: the model as it was (not even the opset raised).
    if (o_.if_any && !any_qualifies(model)) {
      ctx.stats["nothing_to_palettize"] = 1;
      return;
    }
    if (model.opset("") < 7) fail("palettize needs opset 7 or later (broadcasting Add); raise it with opset(version=13)");
    if (o_.packed && o_.bits <= 4 && model.opset("") < 21) {
      ctx.stats["opset_raised_from"] = model.opset("");
      try {
        ctx.stats["opset_nodes_rewritten"] = upgrade_opset(model, 21);
      } catch (Error& e) {
        e.with_context("palettize: packed 4-bit indices need opset 21 (packed=false keeps the opset, one index per byte)");
        throw;
      }
    }
    o_.uint4_allowed = model.opset("") >= 21;
    int64_t changed = 0, most_channels = 0;
    std::optional<BiasCorrector> corrector;
    std::optional<InputMoments> own_moments;
    const InputMoments* moments = nullptr;
    std::vector<const ir::Value*> weights, palettized;  // of the main graph, which correct= and gptq= measure
    for (const ir::Value* v : model.graph->constants()) {
      int64_t axis = weight_axis_of_all_uses(v);
      if (v->constant().dtype() != ir::DataType::kFloat || axis < 0) continue;
      weights.push_back(v);
      if (in_use_float(v) && kept_reason(v, axis, o_).empty()) palettized.push_back(v);
    }
    measure_weight_pass(model, weights, palettized, o_.correct, o_.gptq, o_.sequential, ctx, corrector, own_moments,
                        moments);
    ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
      // Returns whether it rewrote weight `v` (what correct= then corrects).
      auto store = [&](ir::Value* v) {
        if (!in_use_float(v)) return false;
        int64_t axis = weight_axis_of_all_uses(v);
        if (axis < 0) {
          // Biases: float16 with kept=float16 (about a fifth of a small model's download otherwise),
          // those of the nodes skip= and only= select.
          bool selected = std::all_of(v->uses().begin(), v->uses().end(),
                                      [&](const ir::Use& u) { return o_.globs.selects(*u.node); });
          if (o_.kept != PalettizeOptions::Kept::kFloat32 && selected && is_bias(v) && v->constant().numel() >= o_.min_size) {
            to_fp16(g, v, ctx);
            ++ctx.stats["biases_float16"];
          }
          return false;  // not a weight: biases, shapes, other constants
        }
        std::string reason = kept_reason(v, axis, o_);
        if (!reason.empty()) {
          ++ctx.stats["kept_" + reason];
          if (o_.kept == PalettizeOptions::Kept::kFloat32 || (reason != "depthwise" && reason != "first")) return false;
          if (o_.kept == PalettizeOptions::Kept::kInt8)
            quantize_weight_int8(g, v, axis, model.opset(""), true, ctx);
          else
            to_fp16(g, v, ctx);
          return true;
        }
        most_channels = std::max(most_channels, v->constant().dims()[axis]);
        palettize_weight(g, v, axis, o_, &g == model.graph.get() ? moments : nullptr, ctx);
        ++ctx.stats["palettized"];
        ++changed;
        return true;
      };
      bool main = &g == model.graph.get();
      store_constants(model, g, main && corrector ? &*corrector : nullptr, main && moments && o_.sequential, ctx, store);
      g.compact();
    });
    if (changed == 0) fail("nothing to palettize: no float32 weight of Conv, ConvTranspose, Gemm or MatMul qualifies");
    // A weight with fewer channels than G is one group; G beyond every weight's channels is a mistake.
    if (o_.group > most_channels)
      fail("group={} is larger than the output channels of every weight (at most {})", o_.group, most_channels);
  }

 private:
  // Whether some float32 weight of the selected nodes would be palettized.
  bool any_qualifies(ir::Model& model) const {
    bool any = false;
    ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
      for (const ir::Value* v : g.constants()) {
        if (any || !in_use_float(v)) continue;
        int64_t axis = weight_axis_of_all_uses(v);
        any = axis >= 0 && kept_reason(v, axis, o_).empty();
      }
    });
    return any;
  }

  PalettizeOptions o_;
};

}  // namespace

extern const PassInfo kPalettizePass = {
    "palettize",
    "store each weight as a table of 2^bits values (k-means) and one index per weight",
    {
        {"bits", OptionType::kInteger, "4", "index bits: the table holds up to 2^bits values", 2, 8},
        {"group", OptionType::kInteger, "0",
         "output channels per table (0: one table per tensor; a weight with fewer channels has one table)", 0, 1e9},
        {"min-size", OptionType::kInteger, "16", "weights with fewer elements stay float32", 0, 1e12},
        {"depthwise", OptionType::kChoice, "auto",
         "palettize depthwise Conv kernels too: auto from 6 bits up (below, they are stored as kept= says), or "
         "true or false at every width",
         0, 0, false, {"auto", "false", "true"}},
        {"first", OptionType::kBool, "false", "palettize the kernel of a Conv reading a graph input (default: stored as kept= says)"},
        {"skip", OptionType::kList, "", "node-name globs whose weights stay float32"},
        {"only", OptionType::kList, "", "node-name globs: palettize only the weights these nodes read"},
        {"packed", OptionType::kBool, "true",
         "bits<=4: raise the model to opset 21 so indices can be stored packed as uint4 (where that deflates smaller)"},
        {"kept", OptionType::kChoice, "int8",
         "how depthwise and first-layer kernels that stay unpalettized are stored (int8: per channel; biases "
         "float16 unless float32)",
         0, 0, false, {"float16", "float32", "int8"}},
        {"channel-scale", OptionType::kBool, "true",
         "each output channel scaled by its own float16 largest magnitude, the table shared by the scaled weights"},
        {"correct", OptionType::kString, "",
         "folder of samples; each layer's bias takes back the mean shift its palettized weights cause "
         "(empirical bias correction)"},
        {"gptq", OptionType::kString, "",
         "folder of samples; each weight's index is chosen so the layer's output error on them is least "
         "(GPTQ error compensation) instead of the nearest entry"},
        {"sequential", OptionType::kBool, "true",
         "with gptq=: layers in graph order, each below a stored one aiming at the float output from its stored "
         "input (slower, more samples' memory); false: every layer on the float model's inputs"},
        {"if-any", OptionType::kBool, "false",
         "when no weight qualifies, keep the model as it is instead of failing (pare tune's configurations)"},
    },
    [](const OptionValues& v) -> std::unique_ptr<Pass> {
      PalettizeOptions o{static_cast<int>(v.integer("bits")), v.integer("group"), v.integer("min-size"),
                         depthwise_of(v.str("depthwise"), v.integer("bits")), v.flag("first"),
                         NodeGlobs{v.list("skip"), v.list("only")},
                         v.flag("packed"), kept_of(v.str("kept")), v.str("correct"), v.flag("channel-scale")};
      o.if_any = v.flag("if-any");
      o.gptq = v.str("gptq");
      o.sequential = v.flag("sequential");
      return std::make_unique<Palettize>(std::move(o));
    },
};

}  // namespace pare::passes
