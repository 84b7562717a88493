#include "lib/runtime/inputs.h"

#include <algorithm>
#include <climits>

#include "lib/runtime/session.h"

#include <cstring>
#include <random>

#include "lib/base/error.h"
#include "lib/base/fp16.h"
#include "lib/base/settings.h"

namespace pare::rt {

std::string input_dim_key(const std::string& input, size_t index) { return fmt::format("{}[{}]", input, index); }
std::string input_rank_key(const std::string& input) { return input + "[rank]"; }

namespace {

// The key prefix that sizes `input` by position: its name, or "" when the model
// has this one input and the sizes were given without a name.
std::string positional_name(const std::vector<std::string>& inputs, const std::string& input,
                            const std::map<std::string, int64_t>& dims) {
  if (dims.count(input_rank_key(input)) || inputs.size() != 1) return input;
  return dims.count(input_rank_key("")) ? "" : input;
}

// Every input that `dims` sizes by position exists (a typo must not pass silently).
void check_positional_names(const std::vector<std::string>& inputs, const std::map<std::string, int64_t>& dims) {
  for (const auto& [key, size] : dims) {
    const std::string suffix = "[rank]";
    if (key.size() < suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    std::string name = key.substr(0, key.size() - suffix.size());
    if (name.empty() && inputs.size() != 1)
      fail("a shape without an input name fits a model with one input; this one has {} ({}): give NAME=SHAPE",
           inputs.size(), fmt::join(inputs, ", "));
    if (!name.empty() && std::find(inputs.begin(), inputs.end(), name) == inputs.end())
      fail("a shape is given for input '{}', which the model does not have (inputs: {})", name, fmt::join(inputs, ", "));
  }
}

// The size of dim `i` of input `v`: known, given by position, or by its symbol.
int64_t dim_size(const ir::Value& v, size_t i, const std::string& positional, const std::map<std::string, int64_t>& dims) {
  const ir::Dim& d = v.shape->dims[i];
  auto given = dims.find(input_dim_key(positional, i));
  if (given != dims.end()) {
    if (d.is_known() && d.value != given->second)
      fail("input '{}' has size {} in dim {}; the shape given says {}", v.name(), d.value, i, given->second);
    return given->second;
  }
  if (d.is_known()) return d.value;
  if (!d.symbol.empty() && dims.count(d.symbol)) return dims.at(d.symbol);
  fail("input '{}' has dim '{}' of unknown size; fix it with {}", v.name(), d.str(),
       d.symbol.empty() ? spell(Setting::kInputShape, v.name() + "=SHAPE (e.g. 1x512)") : spell(Setting::kDim, d.symbol + "=N"));
}

// The sizes of input `v`: its shape with every dim given a size.
std::vector<int64_t> input_sizes(const ir::Value& v, const std::vector<std::string>& inputs,
                                 const std::map<std::string, int64_t>& dims) {
  if (!v.shape) fail("input '{}' has no shape; give sample inputs instead", v.name());
  std::string positional = positional_name(inputs, v.name(), dims);
  if (auto rank = dims.find(input_rank_key(positional)); rank != dims.end() && rank->second != int64_t(v.shape->rank()))
    fail("input '{}' has rank {} ({}); the shape given has {} dims", v.name(), v.shape->rank(), v.shape->str(),
         rank->second);
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < v.shape->rank(); ++i) sizes.push_back(dim_size(v, i, positional, dims));
  return sizes;
}

}  // namespace

void check_fits_a_run(const std::string& subject, const std::vector<int64_t>& dims, int64_t element_bytes) {
  int64_t bytes_needed = element_bytes;
  for (int64_t d : dims)
    if (__builtin_mul_overflow(bytes_needed, d, &bytes_needed)) bytes_needed = INT64_MAX;
  int64_t allowed = default_run_limits().max_bytes;
  if (bytes_needed == INT64_MAX || (allowed > 0 && bytes_needed > allowed))
    fail("{} [{}] needs {}{} bytes, more than the {} allowed for a run{}", subject, fmt::join(dims, ","),
         bytes_needed == INT64_MAX ? "over " : "", bytes_needed, allowed > 0 ? std::to_string(allowed) : "int64 counts",
         default_run_limits().how_to_raise.empty() ? "" : " (" + default_run_limits().how_to_raise + ")");
}

std::map<std::string, std::vector<int64_t>> input_shapes(const ir::Model& model,
                                                         const std::map<std::string, int64_t>& dims) {
  const std::vector<std::string> inputs = input_names(model);
  check_positional_names(inputs, dims);
  std::map<std::string, std::vector<int64_t>> out;
  for (const ir::Value* v : model.graph->inputs)
    if (!v->is_constant()) out[v->name()] = input_sizes(*v, inputs, dims);
  return out;
}

std::vector<ir::Tensor> random_inputs(const ir::Model& model, const std::map<std::string, int64_t>& dims,
                                      uint64_t seed) {
  const std::vector<std::string> inputs = input_names(model);
  check_positional_names(inputs, dims);
  std::mt19937_64 rng(seed);
  // Not std::uniform_real_distribution: its output is not specified bit for bit
  // across standard libraries; this is.
  auto uniform = [&rng] { return static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0); };
  std::vector<ir::Tensor> out;
  for (const ir::Value* v : model.graph->inputs) {
    if (v->is_constant()) continue;
    std::vector<int64_t> sizes = input_sizes(*v, inputs, dims);
    if (v->dtype == ir::DataType::kUndefined || v->dtype == ir::DataType::kString)
      fail("input '{}' has type {}, which synthetic inputs do not cover", v->name(), ir::name(v->dtype));
    // Checked before allocating: a declared dim of 2^40 must be refused, not
    // allocated (or overflow the byte count).
    check_fits_a_run(fmt::format("input '{}' of shape", v->name()), sizes, static_cast<int64_t>(ir::size_of(v->dtype)));
    ir::Tensor zeros = ir::Tensor::zeros(v->dtype, sizes);
    std::vector<uint8_t> bytes(zeros.raw(), zeros.raw() + zeros.byte_size());
    for (int64_t i = 0; i < zeros.numel(); ++i) {
      if (v->dtype == ir::DataType::kFloat) {
        float f = uniform();
        std::memcpy(bytes.data() + 4 * i, &f, 4);
      } else if (v->dtype == ir::DataType::kFloat16) {
        uint16_t h = float_to_half(uniform());
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      } else if (v->dtype == ir::DataType::kDouble) {
        double d = uniform();
        std::memcpy(bytes.data() + 8 * i, &d, 8);
      }
    }
    out.emplace_back(v->dtype, sizes, std::move(bytes));
  }
  return out;
}

std::vector<std::string> input_names(const ir::Model& model) {
  std::vector<std::string> out;
  for (const ir::Value* v : model.graph->inputs)
    if (!v->is_constant()) out.push_back(v->name());
  return out;
}

std::map<std::string, ir::Tensor> random_feed(const ir::Model& model, const std::map<std::string, int64_t>& dims,
                                              uint64_t seed) {
  std::vector<std::string> names = input_names(model);
  std::vector<ir::Tensor> tensors = random_inputs(model, dims, seed);
  std::map<std::string, ir::Tensor> feed;
  for (size_t i = 0; i < tensors.size(); ++i) feed[names[i]] = tensors[i];
  return feed;
}

}  // namespace pare::rt
