#include "lib/metrics/compare.h"

#include <algorithm>
#include <cmath>

#include "lib/base/error.h"

namespace pare::metrics {

void OutputDiffAccumulator::add(const ir::Tensor& reference, const ir::Tensor& got, double weight) {
  if (reference.dims() != got.dims())
    fail("output '{}' has shape [{}] but the reference has [{}]", name_, fmt::join(got.dims(), ","),
         fmt::join(reference.dims(), ","));
  auto r = reference.as_double(), g = got.as_double();
  double signal = 0, noise = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    double d = r[i] - g[i];
    signal_ += weight * (r[i] * r[i]);  // weight 1 leaves every sum as it was, bit for bit
    noise_ += weight * (d * d);
    dot_ += weight * (r[i] * g[i]);
    ref_sq_ += weight * (r[i] * r[i]);
    got_sq_ += weight * (g[i] * g[i]);
    signal += weight * (r[i] * r[i]);
    noise += weight * (d * d);
    max_abs_ = std::max(max_abs_, std::fabs(d));
    sum_abs_ += std::fabs(d);
  }
  elements_ += static_cast<int64_t>(r.size());
  sample_signal_.push_back(signal);
  sample_noise_.push_back(noise);
  const auto& dims = reference.dims();
  class_scores_ = class_scores_ && !dims.empty() && dims.size() <= 2 && dims.back() >= 2;
  if (!class_scores_) return;
  int64_t classes = dims.back(), rows = static_cast<int64_t>(r.size()) / classes;
  for (int64_t row = 0; row < rows; ++row) {
    int64_t ar = 0, ag = 0;
    for (int64_t c = 1; c < classes; ++c) {
      if (r[row * classes + c] > r[row * classes + ar]) ar = c;
      if (g[row * classes + c] > g[row * classes + ag]) ag = c;
    }
    ++rows_;
    rows_agree_ += ar == ag;
  }
}

OutputDiff OutputDiffAccumulator::result() const {
  OutputDiff d;
  d.name = name_;
  d.elements = elements_;
  d.identical = noise_ == 0;
  d.sqnr_db = d.identical ? 200.0 : std::min(200.0, 10 * std::log10(std::max(signal_, 1e-300) / noise_));
  d.cosine = ref_sq_ > 0 && got_sq_ > 0 ? dot_ / std::sqrt(ref_sq_ * got_sq_) : (ref_sq_ == got_sq_ ? 1.0 : 0.0);
  d.max_abs = max_abs_;
  d.mean_abs = elements_ ? sum_abs_ / static_cast<double>(elements_) : 0;
  if (class_scores_ && rows_ > 0) d.top1_agreement = static_cast<double>(rows_agree_) / static_cast<double>(rows_);
  return d;
}

std::optional<SampleSpread> OutputDiffAccumulator::spread() const {
  if (sample_noise_.size() < 2 || noise_ == 0) return std::nullopt;
  SampleSpread s;
  s.sqnr_db = sqnr_range_db(sample_signal_, sample_noise_);
  s.loudest = static_cast<size_t>(std::max_element(sample_noise_.begin(), sample_noise_.end()) - sample_noise_.begin());
  double noise = sample_noise_[s.loudest];
  s.loudest_share = noise / noise_;
  s.loudest_sqnr_db = std::min(200.0, 10 * std::log10(std::max(sample_signal_[s.loudest], 1e-300) / noise));
  return s;
}

std::vector<OutputDiff> judged(const std::vector<OutputDiff>& outputs) {
  std::vector<OutputDiff> out;
  for (const auto& d : outputs)
    if (d.before_steps.empty())
      out.push_back(d);
    else
      out.insert(out.end(), d.before_steps.begin(), d.before_steps.end());
  return out;
}

}  // namespace pare::metrics
