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
#pragma once

#include <Eigen/Dense>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace pare::passes {

inline constexpr int64_t kPositionsPerSample = 4096;
inline constexpr double kGptqDamping = 0.01;  // of the mean diagonal of H

// Rounds the rows of `w` (rows x columns; columns as H's) in place with error
// compensation: `round(row, column, value)` returns the stored value the
// caller picks for `value` (which already carries the compensation of the
// columns rounded before). On return w holds the stored values. Returns false
// when H cannot be factored even with more damping (w is then rounded to
// nearest, column by column, without compensation).
bool gptq_round(Eigen::MatrixXd& w, const Eigen::MatrixXd& h,
                const std::function<double(int64_t row, int64_t column, double value)>& round);

class InputMoments;

// The moments gptq=`dir` rounds `weights` with: the caller's (ctx.known_moments)
// when it has them for `dir`, else measured here on `model` into `own`.
const InputMoments& moments_for(const ir::Model& model, const std::vector<const ir::Value*>& weights,
                                const std::string& dir, PassContext& ctx, std::optional<InputMoments>& own);

// H per weight, measured once for every Conv, Gemm and MatMul reading one of
// the weights, then used as each weight is stored.
class InputMoments {
 public:
  // Loads the samples of `dir` through ctx.load_samples and measures, on
  // `model` as it is now, H for every layer reading one of `weights` (a weight
  // read by more than one layer is not measured). Throws pare::Error when the
  // samples cannot be read or do not fit the model.
  InputMoments(const ir::Model& model, const std::vector<const ir::Value*>& weights, const std::string& dir,
               PassContext& ctx);
  // The same from samples in hand.
  InputMoments(const ir::Model& model, const std::vector<const ir::Value*>& weights, const std::vector<Sample>& samples);

  // Rounds constant weight `v` (float32, as its layer reads it) through
  // `store(element, value)`, which returns the stored value for the element at
  // flat index `element` of v and records how it stores it. False when v's
  // layer was not measured (nothing was called: the caller stores v as it
  // would without gptq=). Where H cannot be factored, the elements go through
  // `store` uncompensated (nearest rounding).
  bool round(const ir::Value& v, const std::function<double(size_t element, double value)>& store) const;

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
  };
  void measure(const ir::Model& model, const std::vector<const ir::Value*>& weights, const std::vector<Sample>& samples);
  std::map<std::string, Layer> layers_;  // weight name -> its layer's moments
};

}  // namespace pare::passes
