// Error-compensating rounding of weights (GPTQ: Frantar et al. 2022, "GPTQ:
// Accurate Post-Training Quantization for Generative Pre-trained
// Transformers", which builds on Optimal Brain Quantization), shared by the
// weight-storage passes through their gptq=DIR option (palettize; quantize's
// fp16, int8 and int4 weights).
//
// Rounding each weight to its nearest stored value minimises the weights' own
// error; what matters is the layer's output error over the data,
//   E |(W' - W) x|^2 = sum over output channels o of (w'_o - w_o)^T H (w'_o - w_o),
// with H = E[x x^T] the second moment of the layer's input columns (for a
// Conv, the im2col patch of one output position: input channel, then kernel
// row and column, as the weight is laid out). GPTQ rounds one column (input
// position) of W at a time and spreads its rounding error over the columns not
// yet rounded, in the direction H says the output loses least:
//   e = (w_j - q_j) / U[j, j];   w_k -= e * U[j, k] for the later k,
// with U the upper Cholesky factor of H^-1. Columns go in order of decreasing
// H[j, j] (the "act order" of the reference code): the inputs with most energy
// are rounded while every later column can still compensate them. H is damped
// by 1% of its mean diagonal, as the paper does, so that it is invertible when
// the samples do not span every direction.
//
// The stored values are whatever the caller's rounding gives (a palette entry
// of the channel's table, an int4 step of the block's scale): GPTQ only
// chooses among them. H is measured on the float model as the pass receives
// it, over the samples of DIR: every output position of a Conv up to
// kPositionsPerSample per sample (evenly spaced), every row of a MatMul's or
// Gemm's data input up to the same count.
//
// Sequentially (the passes' default, design.md decision 42), the layers are
// rounded in graph order, and a layer below one already rounded is rounded
// against what it will see and what it should give: with x~ its input on the
// model as stored so far and x its input on the float model, the layer's
// weights aim at the float output from the stored input,
//   min E |W x - Q x~|^2 = (Q - W*) H~ (Q - W*)^T + const,
//   W* = W (C + d I)(H~ + d I)^-1,  H~ = E[x~ x~^T],  C = E[x x~^T],
// and GPTQ rounds W* on H~ (asymmetric calibration: Li et al. 2025, "GPTAQ";
// the sequential order is GPTQ's own). The ridge d pulls W* towards W, not
// towards zero: where x~ = x, W* = W exactly. Each such layer costs a run of
// the stored model over the samples, and the float inputs of every layer are
// kept for the pass, as float16 (PP-OCRv4 det, 8 pages at 640x640, 6-bit: 46 s
// and 0.77 GB against 10 s and 0.4 GB; 1.1 GB with the inputs kept as float32).
#pragma once

#include <Eigen/Dense>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace pare::passes {

inline constexpr int64_t kPositionsPerSample = 4096;
inline constexpr double kGptqDamping = 0.01;  // of the mean diagonal of H
// The ridge d of the sequential target, of the mean diagonal of H~: PP-OCRv4
// det's int8 weights (gptq=, correct=, 8 other pages) 30.3 dB at 0.01, 34.0 at
// 0.1, 34.9 at 0.3, 34.2 at 1; 31.5 dB at 100 (W* = W: the sequential order
// alone); 29.5 dB rounded all on the float model.
inline constexpr double kTargetRidge = 0.3;

// Rounds the rows of `w` (rows x columns; columns as H's) in place with error
// compensation: `round(row, column, value)` returns the stored value the
// caller picks for `value` (which already carries the compensation of the
// columns rounded before). On return w holds the stored values. Returns false
// when H cannot be factored even with more damping (w is then rounded to
// nearest, column by column, without compensation).
bool gptq_round(Eigen::MatrixXd& w, const Eigen::MatrixXd& h,
                const std::function<double(int64_t row, int64_t column, double value)>& round);

class InputMoments;
class ChannelMeans;
class BiasCorrector;

// The moments gptq=`dir` rounds `weights` with: the caller's (ctx.known_moments)
// when it has them for `dir`, else measured here on `model` into `own`. With
// `sequential` and more than one weight, they are measured here, keeping the
// layers' float inputs, and follow `model` as the pass stores it.
const InputMoments& moments_for(ir::Model& model, const std::vector<const ir::Value*>& weights, const std::string& dir,
                                bool sequential, PassContext& ctx, std::optional<InputMoments>& own);

// What a weight pass's correct=`correct_dir` (the means of the layers reading
// `corrected`) and gptq=`gptq_dir` (moments_for `rounded`) measure, either
// empty for none. When both measure the same folder on the model as it is
// (neither known to the caller, not sequential), one run per sample serves
// both: tune's verifications of PP-OCRv4 det ran every sample twice per step.
void measure_weight_pass(ir::Model& model, const std::vector<const ir::Value*>& corrected,
                         const std::vector<const ir::Value*>& rounded, const std::string& correct_dir,
                         const std::string& gptq_dir, bool sequential, PassContext& ctx,
                         std::optional<BiasCorrector>& corrector, std::optional<InputMoments>& own,
                         const InputMoments*& moments);

// H per weight, measured once for every Conv, Gemm and MatMul reading one of
// the weights, then used as each weight is stored.
class InputMoments {
 public:
  // Loads the samples of `dir` through ctx.load_samples and measures, on
  // `model` as it is now, H for every layer reading one of `weights` (a weight
  // read by more than one layer is not measured). Throws pare::Error when the
  // samples cannot be read or do not fit the model.
  // With `sequential`, it also keeps the samples and every layer input it
  // captured, and rounds sequentially (above) following `model` as the caller
  // goes on storing its weights in graph order.
  InputMoments(ir::Model& model, const std::vector<const ir::Value*>& weights, const std::string& dir,
               bool sequential, PassContext& ctx);
  // The same from samples in hand (not sequential), on `threads` threads; with
  // `means`, the same runs also add up its tensors' channel means (correct=).
  InputMoments(const ir::Model& model, const std::vector<const ir::Value*>& weights, const std::vector<Sample>& samples,
               int threads = 1, ChannelMeans* means = nullptr);

  // Rounds constant weight `v` (float32, as its layer reads it) through
  // `store(element, value)`, which returns the stored value for the element at
  // flat index `element` of v and records how it stores it. False when v's
  // layer was not measured (nothing was called: the caller stores v as it
  // would without gptq=). Where H cannot be factored, the elements go through
  // `store` uncompensated (nearest rounding).
  bool round(const ir::Value& v, const std::function<double(size_t element, double value)>& store) const;

  // The caller changed the model before storing any weight (static int8's
  // activation Q/DQ pairs): every layer, not only those below a rounded one,
  // aims at the float output from its input on the model as stored. Needs
  // sequential construction (the float inputs kept).
  void aim_every_layer() { aim_every_layer_ = true; }

  // The measured H of weight `name`'s layer, one per group (sums over the
  // positions, not yet divided by their count), or nullptr.
  const std::vector<Eigen::MatrixXd>* moments_of(const std::string& name) const {
    auto it = layers_.find(name);
    return it == layers_.end() ? nullptr : &it->second.h;
  }

 private:
  struct Layer {
    std::vector<Eigen::MatrixXd> h;  // per group of a Conv (one for Gemm and MatMul)
    bool transposed = false;         // weight columns run along its first axis (MatMul's [K, N], Gemm without transB)
    std::string input;               // the layer's data input on the float model (float_inputs_' key)
  };
  void measure(const ir::Model& model, const std::vector<const ir::Value*>& weights, const std::vector<Sample>& samples,
               bool keep_inputs, int threads, ChannelMeans* means = nullptr);
  // H~ and C (above) of `layer`, per group, on the stored model; false if the samples do not fit.
  bool measure_stored(const ir::Node& layer, const Layer& l, const std::vector<int64_t>& dims, std::vector<Eigen::MatrixXd>& h,
                      std::vector<Eigen::MatrixXd>& cross) const;
  // Whether `layer` reads, through any path, the output of a layer rounded so far.
  bool below_rounded(const ir::Node& layer) const;
  std::map<std::string, Layer> layers_;  // weight name -> its layer's moments
  // Sequential rounding (constructed with `sequential`): the model being stored,
  // the samples, each sample's layer inputs on the float model (as float16),
  // and the layers rounded so far.
  ir::Model* stored_ = nullptr;
  std::vector<Sample> samples_;
  std::vector<std::map<std::string, ir::Tensor>> float_inputs_;
  mutable std::set<const ir::Node*> rounded_;
  bool aim_every_layer_ = false;
};

}  // namespace pare::passes
