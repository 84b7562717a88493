#include "lib/runtime/inputs.h"

#include <climits>

#include "lib/runtime/session.h"

#include <cstring>
#include <random>

#include "lib/base/error.h"
#include "lib/base/fp16.h"

namespace pare::rt {

std::vector<ir::Tensor> random_inputs(const ir::Model& model, const std::map<std::string, int64_t>& dims,
                                      uint64_t seed) {
  std::mt19937_64 rng(seed);
  // Not std::uniform_real_distribution: its output is not specified bit for bit
  // across standard libraries; this is.
  auto uniform = [&rng] { return static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0); };
  std::vector<ir::Tensor> out;
  for (const ir::Value* v : model.graph->inputs) {
    if (v->is_constant()) continue;
    if (!v->shape) fail("input '{}' has no shape; give sample inputs instead", v->name());
    std::vector<int64_t> sizes;
    for (const auto& d : v->shape->dims) {
      if (d.is_known()) sizes.push_back(d.value);
      else if (!d.symbol.empty() && dims.count(d.symbol)) sizes.push_back(dims.at(d.symbol));
      else fail("input '{}' has dim '{}' of unknown size; fix it with --dim {}=N", v->name(), d.str(), d.symbol.empty() ? "NAME" : d.symbol);
    }
    if (v->dtype == ir::DataType::kUndefined || v->dtype == ir::DataType::kString)
      fail("input '{}' has type {}, which synthetic inputs do not cover", v->name(), ir::name(v->dtype));
    // Checked before allocating: a declared dim of 2^40 must be refused, not
    // allocated (or overflow the byte count).
    int64_t bytes_needed = static_cast<int64_t>(ir::size_of(v->dtype));
    for (int64_t d : sizes)
      if (__builtin_mul_overflow(bytes_needed, d, &bytes_needed)) bytes_needed = INT64_MAX;
    int64_t allowed = default_run_limits().max_bytes;
    if (bytes_needed == INT64_MAX || (allowed > 0 && bytes_needed > allowed))
      fail("input '{}' of shape [{}] needs {}{} bytes, more than the {} allowed for a run{}", v->name(),
           fmt::join(sizes, ","), bytes_needed == INT64_MAX ? "over " : "", bytes_needed,
           allowed > 0 ? std::to_string(allowed) : "int64 counts",
           default_run_limits().how_to_raise.empty() ? "" : " (" + default_run_limits().how_to_raise + ")");
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
