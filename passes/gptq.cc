#include "passes/gptq.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <thread>

#include "lib/base/fp16.h"
#include "lib/base/strings.h"
#include "lib/runtime/kernels/conv_geometry.h"
#include "passes/bias_correct.h"
#include "passes/quantize.h"

namespace pare::passes {

bool gptq_round(Eigen::MatrixXd& w, const Eigen::MatrixXd& h_in,
                const std::function<double(int64_t row, int64_t column, double value)>& round) {
  const Eigen::Index rows = w.rows(), cols = w.cols();
  PARE_CHECK(h_in.rows() == cols && h_in.cols() == cols, "gptq: H is {}x{} for {} columns", h_in.rows(), h_in.cols(),
             cols);
  // An input never nonzero on the samples gets a unit diagonal: its column has
  // nothing to compensate and compensates nothing.
  Eigen::MatrixXd h = h_in;
  for (Eigen::Index j = 0; j < cols; ++j)
    if (!(h(j, j) > 0)) h(j, j) = 1;
  // Act order: the inputs with most energy first, ties by position (deterministic).
  std::vector<Eigen::Index> order(static_cast<size_t>(cols));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return h(a, a) > h(b, b); });
  Eigen::MatrixXd hp(cols, cols), wp(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j) {
    wp.col(j) = w.col(order[j]);
    for (Eigen::Index k = 0; k < cols; ++k) hp(j, k) = h(order[j], order[k]);
  }
  // U: the upper Cholesky factor of (H + damping)^-1; more damping if H is not
  // positive definite in double precision.
  double mean_diagonal = hp.diagonal().mean();
  Eigen::MatrixXd u;
  bool factored = false;
  for (double damping = kGptqDamping; damping <= 1.0 && !factored; damping *= 10) {
    Eigen::MatrixXd damped = hp;
    damped.diagonal().array() += damping * mean_diagonal;
    Eigen::LLT<Eigen::MatrixXd> llt(damped);
    if (llt.info() != Eigen::Success) continue;
    Eigen::LLT<Eigen::MatrixXd> inverse(llt.solve(Eigen::MatrixXd::Identity(cols, cols)));
    if (inverse.info() != Eigen::Success) continue;
    u = inverse.matrixU();
    factored = true;
  }
  if (!factored) {
    for (Eigen::Index j = 0; j < cols; ++j)
      for (Eigen::Index r = 0; r < rows; ++r) w(r, j) = round(r, j, w(r, j));
    return false;
  }
  // Columns in blocks: within a block each rounding updates the block's later
  // columns; the block's errors reach the columns after it in one product.
  constexpr Eigen::Index kBlock = 128;
  for (Eigen::Index begin = 0; begin < cols; begin += kBlock) {
    Eigen::Index end = std::min(cols, begin + kBlock);
    Eigen::MatrixXd errors(rows, end - begin);
    for (Eigen::Index j = begin; j < end; ++j) {
      for (Eigen::Index r = 0; r < rows; ++r) {
        double q = round(r, order[j], wp(r, j));
        errors(r, j - begin) = (wp(r, j) - q) / u(j, j);
        wp(r, j) = q;
      }
      if (j + 1 < end)
        wp.middleCols(j + 1, end - j - 1).noalias() -= errors.col(j - begin) * u.row(j).segment(j + 1, end - j - 1);
    }
    if (end < cols) wp.rightCols(cols - end).noalias() -= errors * u.block(begin, end, end - begin, cols - end);
  }
  for (Eigen::Index j = 0; j < cols; ++j) w.col(order[j]) = wp.col(j);
  return true;
}

namespace {

// The one layer reading weight `v` (as input 1) with a computed data input, or
// nullptr: a weight shared by layers has one H per reader.
const ir::Node* sole_layer(const ir::Value& v) {
  if (v.uses().size() != 1) return nullptr;
  const ir::Use& u = v.uses()[0];
  const ir::Node& n = *u.node;
  if (u.index != 1 || !n.domain.empty() || !n.input(0) || n.input(0)->is_constant()) return nullptr;
  if (n.op_type == "Conv" && (v.constant().rank() == 3 || v.constant().rank() == 4)) return &n;
  if ((n.op_type == "Gemm" || n.op_type == "MatMul") && v.constant().rank() == 2) return &n;
  return nullptr;
}

// Begin padding and output size of one spatial axis of a Conv.
std::pair<int64_t, int64_t> conv_axis(const ir::Node& conv, size_t axis, size_t axes, int64_t in, int64_t kernel) {
  auto at = [](const std::vector<int64_t>& v, size_t i, int64_t fallback) { return i < v.size() ? v[i] : fallback; };
  int64_t stride = at(conv.attr_ints("strides"), axis, 1), dilation = at(conv.attr_ints("dilations"), axis, 1);
  int64_t extent = (kernel - 1) * dilation + 1;
  std::string mode = conv.attr_string("auto_pad", "NOTSET");
  if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    int64_t out = (in + stride - 1) / stride;
    return {rt::kernels::same_pads(mode, (out - 1) * stride + extent - in).first, out};
  }
  std::vector<int64_t> pads = conv.attr_ints("pads");
  int64_t begin = mode == "VALID" ? 0 : at(pads, axis, 0), end = mode == "VALID" ? 0 : at(pads, axis + axes, 0);
  return {begin, (in + begin + end - extent) / stride + 1};
}

// Evenly spaced picks of at most kPositionsPerSample among `count`.
int64_t pick_step(int64_t count) { return std::max<int64_t>(1, (count + kPositionsPerSample - 1) / kPositionsPerSample); }

// The Conv input patches of `x` (N, C, [H,] W), one matrix per group: a row
// per picked output position, a column per weight column.
bool conv_patches(const ir::Node& conv, const std::vector<int64_t>& w_dims, const ir::Tensor& x,
                  std::vector<Eigen::MatrixXf>& out) {
  size_t axes = w_dims.size() - 2;
  if (x.rank() != w_dims.size()) return false;
  int64_t groups = conv.attr_int("group", 1), per_group = w_dims[1], channels = x.dims()[1];
  if (groups < 1 || per_group * groups != channels) return false;
  int64_t kh = axes == 2 ? w_dims[2] : 1, kw = w_dims.back();
  int64_t ih = axes == 2 ? x.dims()[2] : 1, iw = x.dims().back();
  auto [pt, oh] = axes == 2 ? conv_axis(conv, 0, 2, ih, kh) : std::pair<int64_t, int64_t>{0, 1};
  auto [pl, ow] = conv_axis(conv, axes - 1, axes, iw, kw);
  auto at = [](const std::vector<int64_t>& v, size_t i) { return i < v.size() ? v[i] : int64_t{1}; };
  std::vector<int64_t> strides = conv.attr_ints("strides"), dilations = conv.attr_ints("dilations");
  int64_t sh = axes == 2 ? at(strides, 0) : 1, sw = at(strides, axes - 1);
  int64_t dh = axes == 2 ? at(dilations, 0) : 1, dw = at(dilations, axes - 1);
  if (oh < 1 || ow < 1) return false;
  int64_t images = x.dims()[0], positions = images * oh * ow, step = pick_step(positions), k = per_group * kh * kw;
  auto v = x.span<float>();
  out.assign(static_cast<size_t>(groups), Eigen::MatrixXf::Zero((positions + step - 1) / step, k));
  for (int64_t g = 0; g < groups; ++g) {
    Eigen::MatrixXf& patches = out[static_cast<size_t>(g)];
    Eigen::Index row = 0;
    for (int64_t p = 0; p < positions; p += step, ++row) {
      int64_t n = p / (oh * ow), oy = p / ow % oh, ox = p % ow;
      for (int64_t c = 0; c < per_group; ++c) {
        const float* plane = v.data() + ((n * channels + g * per_group + c) * ih) * iw;
        for (int64_t ky = 0; ky < kh; ++ky) {
          int64_t y = oy * sh - pt + ky * dh;
          if (y < 0 || y >= ih) continue;
          for (int64_t kx = 0; kx < kw; ++kx) {
            int64_t xx = ox * sw - pl + kx * dw;
            if (xx >= 0 && xx < iw) patches(row, (c * kh + ky) * kw + kx) = plane[y * iw + xx];
          }
        }
      }
    }
  }
  return true;
}

// The rows of a Gemm's or MatMul's data input (K along its last axis, or its
// first for Gemm with transA), picked as a Conv's positions are.
bool input_rows(const ir::Node& layer, int64_t k, const ir::Tensor& x, std::vector<Eigen::MatrixXf>& out) {
  bool columns = layer.op_type == "Gemm" && layer.attr_int("transA", 0);
  if (x.rank() < 1 || (columns ? x.dims()[0] : x.dims().back()) != k || (columns && x.rank() != 2)) return false;
  int64_t count = x.numel() / k, step = pick_step(count);
  auto v = x.span<float>();
  out.assign(1, Eigen::MatrixXf((count + step - 1) / step, k));
  Eigen::MatrixXf& rows = out[0];
  Eigen::Index row = 0;
  for (int64_t r = 0; r < count; r += step, ++row)
    for (int64_t i = 0; i < k; ++i) rows(row, i) = columns ? v[static_cast<size_t>(i * count + r)] : v[static_cast<size_t>(r * k + i)];
  return true;
}

// The column count of weight dims for `layer`: what H is over.
int64_t columns_of(const ir::Node& layer, const std::vector<int64_t>& d) {
  if (layer.op_type == "Conv") {
    int64_t k = 1;
    for (size_t i = 1; i < d.size(); ++i) k *= d[i];
    return k;
  }
  bool trans_b = layer.op_type == "Gemm" && layer.attr_int("transB", 0);
  return trans_b ? d[1] : d[0];
}

// What H is measured on for `layer` (Conv, Gemm, MatMul) reading a weight of
// `dims`, from its data input `x` (float32): per group, a row per picked output
// position (up to kPositionsPerSample per sample, evenly spaced), a column per
// weight column (for a Conv, the input channel within the group, then kernel
// row and column). False when x does not fit the layer.
bool patches_of(const ir::Node& layer, const std::vector<int64_t>& dims, const ir::Tensor& x,
                std::vector<Eigen::MatrixXf>& out) {
  if (x.dtype() != ir::DataType::kFloat) return false;
  return layer.op_type == "Conv" ? conv_patches(layer, dims, x, out) : input_rows(layer, columns_of(layer, dims), x, out);
}

}  // namespace

namespace {

// sum += a^T b, per group (sum empty: started at zero).
void add_products(const std::vector<Eigen::MatrixXf>& a, const std::vector<Eigen::MatrixXf>& b,
                  std::vector<Eigen::MatrixXd>& sum) {
  if (sum.empty())
    for (const auto& m : a) sum.push_back(Eigen::MatrixXd::Zero(m.cols(), m.cols()));
  for (size_t g = 0; g < a.size(); ++g) sum[g].noalias() += (a[g].transpose() * b[g]).cast<double>();
}

// The lower triangle of sum += a^T a, per group: half the multiplications of
// add_products(a, a, sum). Eigen's triangular product may add up in another
// order: PP-OCRv4 det's tuned model stayed the same bytes, M-LSD tiny's moved
// one stored weight. mirror() completes the sums once every sample is in.
void add_gram(const std::vector<Eigen::MatrixXf>& a, std::vector<Eigen::MatrixXd>& sum) {
  if (sum.empty())
    for (const auto& m : a) sum.push_back(Eigen::MatrixXd::Zero(m.cols(), m.cols()));
  Eigen::MatrixXf lower;
  for (size_t g = 0; g < a.size(); ++g) {
    lower.setZero(a[g].cols(), a[g].cols());
    lower.triangularView<Eigen::Lower>() = a[g].transpose() * a[g];
    sum[g].triangularView<Eigen::Lower>() += lower.cast<double>();
  }
}

void mirror(std::vector<Eigen::MatrixXd>& sums) {
  for (auto& m : sums) m.triangularView<Eigen::StrictlyUpper>() = m.transpose();
}

// The float inputs sequential rounding keeps, as float16: half the memory,
// and C is a sum over thousands of positions, which their rounding does not
// move (a value beyond float16's range becomes inf, and its layer is then
// rounded on H alone).
ir::Tensor narrowed(const ir::Tensor& t) {
  if (t.dtype() != ir::DataType::kFloat) return t;
  auto v = t.span<float>();
  std::vector<uint16_t> halves(v.size());
  std::transform(v.begin(), v.end(), halves.begin(), float_to_half);
  return float16_tensor(t.dims(), halves);
}

ir::Tensor widened(const ir::Tensor& t) {
  return t.dtype() == ir::DataType::kFloat16 ? ir::Tensor::from<float>(t.dims(), t.as_float()) : t;
}

// W* = W (C + d I)(H~ + d I)^-1 (gptq.h): solved as (H~ + d I) W*^T = (C^T + d I) W^T.
// W as it is where H~ is all zero or the solution is not finite.
void aim_at_float_output(Eigen::MatrixXd& w, const Eigen::MatrixXd& h_stored, const Eigen::MatrixXd& cross) {
  double ridge = kTargetRidge * h_stored.diagonal().mean();
  if (!(ridge > 0)) return;
  Eigen::MatrixXd damped = h_stored;
  damped.diagonal().array() += ridge;
  Eigen::MatrixXd rhs = cross.transpose() * w.transpose() + ridge * w.transpose();
  Eigen::MatrixXd target = damped.ldlt().solve(rhs).transpose();
  if (target.allFinite()) w = std::move(target);
}

}  // namespace

const InputMoments& moments_for(ir::Model& model, const std::vector<const ir::Value*>& weights, const std::string& dir,
                                bool sequential, PassContext& ctx, std::optional<InputMoments>& own) {
  // One weight has nothing stored above it: sequential or not, it is rounded on H alone.
  sequential = sequential && weights.size() > 1;
  if (!sequential)
    if (const InputMoments* known = ctx.known_moments ? ctx.known_moments(dir) : nullptr) return *known;
  return own.emplace(model, weights, dir, sequential, ctx);
}

InputMoments::InputMoments(ir::Model& model, const std::vector<const ir::Value*>& weights, const std::string& dir,
                           bool sequential, PassContext& ctx) {
  std::vector<Sample> samples = weight_pass_samples(model, dir, "gptq", ctx);
  measure(model, weights, samples, sequential, ctx.threads);
  if (!sequential) return;
  stored_ = &model;
  samples_ = std::move(samples);
}

InputMoments::InputMoments(const ir::Model& model, const std::vector<const ir::Value*>& weights,
                           const std::vector<Sample>& samples, int threads, ChannelMeans* means) {
  measure(model, weights, samples, false, threads, means);
}

void measure_weight_pass(ir::Model& model, const std::vector<const ir::Value*>& corrected,
                         const std::vector<const ir::Value*>& rounded, const std::string& correct_dir,
                         const std::string& gptq_dir, bool sequential, PassContext& ctx,
                         std::optional<BiasCorrector>& corrector, std::optional<InputMoments>& own,
                         const InputMoments*& moments) {
  bool known = (ctx.known_means && ctx.known_means(correct_dir)) || (ctx.known_moments && ctx.known_moments(gptq_dir));
  bool shared = !correct_dir.empty() && correct_dir == gptq_dir && !known && !(sequential && rounded.size() > 1);
  if (!shared) {
    if (!correct_dir.empty()) corrector.emplace(model, corrected, correct_dir, ctx);
    if (!gptq_dir.empty()) moments = &moments_for(model, rounded, gptq_dir, sequential, ctx, own);
    return;
  }
  ChannelMeans means(layer_input_axes(corrected));
  own.emplace(model, rounded, weight_pass_samples(model, gptq_dir, "gptq", ctx), ctx.threads, &means);
  moments = &*own;
  corrector.emplace(means.means());
}

void InputMoments::measure(const ir::Model& model, const std::vector<const ir::Value*>& weights,
                           const std::vector<Sample>& samples, bool keep_inputs, int threads, ChannelMeans* means) {
  std::map<std::string, const ir::Node*> layer_of;  // weight name -> its layer
  std::set<std::string> names;                      // the layers' data inputs
  for (const ir::Value* w : weights)
    if (const ir::Node* n = sole_layer(*w)) {
      layer_of[w->name()] = n;
      names.insert(n->input(0)->name());
    }
  if (layer_of.empty() && (!means || means->axes().empty())) return;
  std::vector<std::string> inputs(names.begin(), names.end());
  if (means)
    for (const auto& [name, axis] : means->axes()) names.insert(name);
  std::vector<std::string> captured_names(names.begin(), names.end());
  const char* option = means ? "correct and gptq" : "gptq";
  for_each_capture(model, samples, captured_names, option, [&](const std::map<std::string, ir::Tensor>& captured) {
    if (means) means->add(captured);
    if (keep_inputs) {
      float_inputs_.emplace_back();
      for (const auto& name : inputs) float_inputs_.back().emplace(name, narrowed(captured.at(name)));
    }
    // Each layer's sum is its own, so layers are shared out over the threads
    // (the sums, and so the rounding, are the same on any thread count).
    struct Todo {
      const ir::Node* layer;
      const std::vector<int64_t>* dims;
      Layer* moments;
      bool fits = false;
    };
    std::vector<Todo> todo;
    for (const auto& [weight, layer] : layer_of)
      todo.push_back({layer, &model.graph->find_value(weight)->constant().dims(), &layers_[weight]});
    auto work = [&](size_t first, size_t stride) {
      std::vector<Eigen::MatrixXf> patches;
      for (size_t i = first; i < todo.size(); i += stride) {
        Todo& t = todo[i];
        t.fits = patches_of(*t.layer, *t.dims, captured.at(t.layer->input(0)->name()), patches);
        if (t.fits) add_gram(patches, t.moments->h);
      }
    };
    size_t stride = std::min<size_t>(static_cast<size_t>(std::max(1, threads)), std::max<size_t>(1, todo.size()));
    std::vector<std::thread> helpers;
    for (size_t t = 1; t < stride; ++t) helpers.emplace_back(work, t, stride);
    work(0, stride);
    for (auto& h : helpers) h.join();
    size_t i = 0;
    for (auto it = layer_of.begin(); it != layer_of.end(); ++i) {
      const auto& [weight, layer] = *it;
      if (!todo[i].fits) {  // a layer whose input does not fit is left to nearest rounding
        layers_.erase(weight);
        it = layer_of.erase(it);
        continue;
      }
      Layer& l = *todo[i].moments;
      l.input = layer->input(0)->name();
      l.transposed = layer->op_type == "MatMul" || (layer->op_type == "Gemm" && !layer->attr_int("transB", 0));
      ++it;
    }
  }, threads);
  for (auto& [weight, l] : layers_) mirror(l.h);
  // Samples that reach a layer with inf or NaN leave it to nearest rounding.
  for (auto it = layers_.begin(); it != layers_.end();) {
    bool finite = std::all_of(it->second.h.begin(), it->second.h.end(), [](const Eigen::MatrixXd& h) { return h.allFinite(); });
    it = finite ? std::next(it) : layers_.erase(it);
  }
}

bool InputMoments::below_rounded(const ir::Node& layer) const {
  if (rounded_.empty()) return false;
  std::set<const ir::Node*> seen;
  std::vector<const ir::Node*> todo = {&layer};
  while (!todo.empty()) {
    const ir::Node* n = todo.back();
    todo.pop_back();
    for (const ir::Value* in : n->inputs())
      if (const ir::Node* p = in ? in->producer() : nullptr; p && seen.insert(p).second) {
        if (rounded_.count(p)) return true;
        todo.push_back(p);
      }
  }
  return false;
}

bool InputMoments::measure_stored(const ir::Node& layer, const Layer& l, const std::vector<int64_t>& dims,
                                  std::vector<Eigen::MatrixXd>& h, std::vector<Eigen::MatrixXd>& cross) const {
  // The stored weights' decoding nodes were appended: the runner needs graph order.
  stored_->graph->compact();
  const std::string& name = layer.input(0)->name();
  size_t s = 0;
  bool fits = true;
  std::vector<Eigen::MatrixXf> now, before;
  for_each_capture(*stored_, samples_, {name}, "gptq", [&](const std::map<std::string, ir::Tensor>& captured) {
    ir::Tensor x = widened(float_inputs_[s++].at(l.input));
    if (!fits || !patches_of(layer, dims, captured.at(name), now) || !patches_of(layer, dims, x, before) ||
        now.size() != before.size() || now[0].rows() != before[0].rows()) {
      fits = false;
      return;
    }
    add_gram(now, h);
    add_products(before, now, cross);
  });
  mirror(h);
  return fits && std::all_of(h.begin(), h.end(), [](const Eigen::MatrixXd& m) { return m.allFinite(); }) &&
         std::all_of(cross.begin(), cross.end(), [](const Eigen::MatrixXd& m) { return m.allFinite(); });
}

bool InputMoments::round(const ir::Value& v, const std::function<double(size_t element, double value)>& store) const {
  auto found = layers_.find(v.name());
  if (found == layers_.end()) return false;
  const Layer& l = found->second;
  // Sequentially, a layer below a rounded one aims at the float output from its stored input.
  const ir::Node* layer = stored_ ? sole_layer(v) : nullptr;
  std::vector<Eigen::MatrixXd> h_stored, cross;
  bool aimed = layer && (aim_every_layer_ || below_rounded(*layer)) &&
               measure_stored(*layer, l, v.constant().dims(), h_stored, cross) &&
               h_stored.size() == l.h.size();
  if (layer) rounded_.insert(layer);
  const ir::Tensor& t = v.constant();
  auto values = t.span<float>();
  int64_t cols = l.h[0].rows(), groups = static_cast<int64_t>(l.h.size());
  int64_t rows = t.numel() / cols, per_group = rows / groups;
  if (rows * cols != t.numel() || per_group * groups != rows) return false;
  // Element of (row, column): Conv and Gemm with transB hold a row per output
  // channel; MatMul's and Gemm's [K, N] hold a column per output.
  auto element = [&](int64_t row, int64_t column) {
    return static_cast<size_t>(l.transposed ? column * rows + row : row * cols + column);
  };
  for (int64_t g = 0; g < groups; ++g) {
    Eigen::MatrixXd w(per_group, cols);
    for (int64_t r = 0; r < per_group; ++r)
      for (int64_t c = 0; c < cols; ++c) w(r, c) = values[element(g * per_group + r, c)];
    if (aimed) aim_at_float_output(w, h_stored[static_cast<size_t>(g)], cross[static_cast<size_t>(g)]);
    // (An H that cannot be factored rounds its group to nearest, through `store` all the same.)
    gptq_round(w, aimed ? h_stored[static_cast<size_t>(g)] : l.h[static_cast<size_t>(g)],
               [&](int64_t r, int64_t c, double value) { return store(element(g * per_group + r, c), value); });
  }
  return true;
}

}  // namespace pare::passes
