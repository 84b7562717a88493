// Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization...",
// section 4.2, with the input means measured on samples as AIMET and NNCF do),
// shared by the weight-storage passes (quantize fp16/int8/int4 weights-only,
// palettize) through their correct=DIR option.
//
// Rounding a layer's weights changes its output by (W' - W) x. On average over
// the data that is a per-output-channel shift, (W' - W) E[x], which the layer's
// bias can take back:
//   b'[o] = b[o] - sum over inputs i and taps k of (W'[o,i,k] - W[o,i,k]) * E[x_i]
// This matters most where a kernel's weights cancel (an edge filter whose taps
// sum to nearly 0 on a flat image region): rounding breaks the cancellation and
// every flat region gets an offset that later layers amplify. On M-LSD 512
// large, the first depthwise convolution alone in float16 takes its `offsets`
// output from float rounding to 15 dB; with this correction to 51 dB
// (docs/quantization.md).
//
// E[x_i] is the mean of input channel i of the layer's data input (Conv: axis
// 1; MatMul: the last axis; Gemm: A's K axis) on the float model as the pass
// receives it. Zero padding at borders is ignored (every tap is taken to see the
// mean). The bias is a Conv's or Gemm's own (added when absent), or a MatMul's
// single consumer Add of a per-column float32 constant; layers with another
// bias (shared, computed, or not per channel) and ConvTranspose are left as
// they are and counted (bias_correction_skipped).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace pare::passes {

// Per-channel means of named tensors, accumulated capture by capture (the
// tensors' channel axis by name, -1 for the last; the sums add in one fixed
// order whatever else the captures hold).
class ChannelMeans {
 public:
  explicit ChannelMeans(std::map<std::string, int64_t> axes) : axes_(std::move(axes)) {}
  const std::map<std::string, int64_t>& axes() const { return axes_; }
  void add(const std::map<std::string, ir::Tensor>& captured);
  std::map<std::string, std::vector<double>> means() const;

 private:
  std::map<std::string, int64_t> axes_;
  std::map<std::string, std::vector<double>> sums_;
  std::map<std::string, int64_t> counts_;
};

class BiasCorrector {
 public:
  // Loads the samples of `dir` through ctx.load_samples and measures, on
  // `model` as it is now, the input means of every Conv, Gemm and MatMul that
  // reads one of `weights` (constant values). Throws pare::Error when the
  // samples cannot be read or do not fit the model.
  BiasCorrector(const ir::Model& model, const std::vector<const ir::Value*>& weights, const std::string& dir,
                PassContext& ctx);
  // From means measured elsewhere (ChannelMeans over layer_input_axes(weights)).
  explicit BiasCorrector(std::map<std::string, std::vector<double>> means) : means_(std::move(means)) {}

  // Weight `name` held `before` and now decodes (through the nodes the pass
  // put in front of it) to other values: shifts the bias of every layer reading
  // it. Call before the pass stores that layer's bias.
  void correct(ir::Model& model, ir::Graph& g, const std::string& name, const ir::Tensor& before, PassContext& ctx);

 private:
  std::map<std::string, std::vector<double>> means_;  // data input value name -> per-channel mean (float model)
};

// The data input of every Conv, Gemm and MatMul reading one of `weights`, with
// its channel axis: the tensors whose means BiasCorrector needs.
std::map<std::string, int64_t> layer_input_axes(const std::vector<const ir::Value*>& weights);

// The per-channel means over `samples` of the data input of every Conv, Gemm
// and MatMul of `model` that reads a constant weight: what BiasCorrector
// measures, for every layer at once (PassContext::known_means).
std::map<std::string, std::vector<double>> layer_input_means(const ir::Model& model, const std::vector<Sample>& samples,
                                                             int threads = 1);

// The samples of `dir` for a weight pass's `option` (correct=, gptq=), loaded
// through ctx.load_samples for `model`'s inputs. Throws pare::Error when the
// caller cannot read folders, or the folder cannot be read or holds none.
std::vector<Sample> weight_pass_samples(const ir::Model& model, const std::string& dir, const char* option,
                                        PassContext& ctx);

// Runs `model` on each of `samples` and hands `visit` the tensors `names`
// name (the samples' own inputs included), sample by sample, on `threads`
// runner threads; a run's error names `option` (correct, gptq) and the sample.
void for_each_capture(const ir::Model& model, const std::vector<Sample>& samples, const std::vector<std::string>& names,
                      const char* option, const std::function<void(const std::map<std::string, ir::Tensor>&)>& visit,
                      int threads = 1);

// Runs `store` on every constant of `g` (it returns whether it rewrote the
// value), in file order, or with `graph_order` in the order of their first
// readers in g (sequential GPTQ stores a layer after the ones before it). With a
// corrector (for the main graph), the weights go first, each corrected right
// after it is stored, then the biases they shifted and the ones correct()
// added: what quantize and palettize do with correct=.
void store_constants(ir::Model& model, ir::Graph& g, BiasCorrector* corrector, bool graph_order, PassContext& ctx,
                     const std::function<bool(ir::Value*)>& store);

// Whether `v` is read as a Conv's or Gemm's bias (input 2) or as the constant of
// an Add after a MatMul: a weight pass with correct= stores these last, after
// the corrections that shift them.
bool read_as_bias(const ir::Value* v);

}  // namespace pare::passes
