// Calibration with pare's runner: run the float model on the samples, capture
// the activation tensors to be quantized, and turn what they held into ranges.
//
// Histograms have 2048 bins of equal width. The |x| histogram spans [0, max|x|]
// and serves the symmetric percentile and entropy; the signed histogram spans
// [min, max] and serves the two-sided percentile. Their extent comes from a first
// pass (min/max), so the bins never need re-sampling and the result does not
// depend on the order of the samples.
#include "passes/calibrate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "lib/base/error.h"
#include "lib/runtime/session.h"

namespace pare::passes {
namespace {

constexpr int kBins = 2048;
constexpr int kLevels = 128;  // quantized bins for the entropy search: int8's magnitude levels

struct Stats {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  std::vector<double> abs_hist, hist;
};

int bin_of(double v, double start, double width) {
  if (width <= 0) return 0;
  return std::clamp(static_cast<int>((v - start) / width), 0, kBins - 1);
}

// The value below which `fraction` of the histogram's mass lies (bin upper edge).
double quantile(const std::vector<double>& hist, double start, double width, double fraction) {
  double total = 0;
  for (double c : hist) total += c;
  double need = fraction * total, seen = 0;
  for (int i = 0; i < kBins; ++i) {
    seen += hist[i];
    if (seen >= need) return start + width * (i + 1);
  }
  return start + width * kBins;
}

double abs_max(const Stats& s) { return std::max(std::fabs(s.lo), std::fabs(s.hi)); }

// Applies `fn(name, values)` to every captured tensor of every sample.
template <typename Fn>
void sweep(rt::Session& session, const std::vector<Sample>& samples, const std::vector<std::string>& names,
           const CalibrationOptions& o, const std::string& what, Fn fn) {
  for (size_t i = 0; i < samples.size(); ++i) {
    std::map<std::string, ir::Tensor> captured;
    try {
      captured = session.run_capture(samples[i], names);
    } catch (Error& e) {
      e.with_context(fmt::format("calibration sample {} of {}", i + 1, samples.size()));
      throw;
    }
    for (const auto& [name, t] : samples[i])
      if (!captured.count(name)) captured[name] = t;
    for (const auto& name : names) {
      auto it = captured.find(name);
      if (it == captured.end()) throw InternalError(fmt::format("calibration did not capture '{}'", name));
      if (it->second.dtype() != ir::DataType::kFloat) continue;
      fn(name, it->second.span<float>());
    }
    if (o.progress) o.progress(what, i + 1, samples.size());
  }
}

Range range_of(const Stats& s, const CalibrationOptions& o) {
  double lo = s.lo, hi = s.hi;
  double amax = abs_max(s), abs_width = amax / kBins;
  if (o.method == CalibrationMethod::kPercentile) {
    double f = o.percentile / 100.0;
    if (o.symmetric) {
      double t = std::min(amax, quantile(s.abs_hist, 0, abs_width, f));
      lo = std::max(lo, -t);
      hi = std::min(hi, t);
    } else {
      double width = (s.hi - s.lo) / kBins;
      hi = std::min(hi, quantile(s.hist, s.lo, width, f));
      lo = std::max(lo, quantile(s.hist, s.lo, width, 1.0 - f) - width);
    }
  } else if (o.method == CalibrationMethod::kEntropy) {
    double t = std::min(amax, entropy_threshold(s.abs_hist, abs_width));
    lo = std::max(lo, -t);
    hi = std::min(hi, t);
  }
  if (o.symmetric) {
    double t = std::max(std::fabs(lo), std::fabs(hi));
    lo = s.lo < 0 ? -t : 0;
    hi = t;
  }
  Range r;
  r.lo = static_cast<float>(std::min(lo, 0.0));
  r.hi = static_cast<float>(std::max(hi, 0.0));
  return r;
}

}  // namespace

double entropy_threshold(const std::vector<double>& hist, double bin_width) {
  const int n = static_cast<int>(hist.size());
  if (n <= kLevels) return bin_width * n;
  double best_kl = std::numeric_limits<double>::infinity();
  int best = n;
  std::vector<double> p, q;
  for (int i = kLevels; i <= n; ++i) {
    // P: the first i bins, everything beyond folded into the last one (clipped values land there).
    p.assign(hist.begin(), hist.begin() + i);
    for (int k = i; k < n; ++k) p[i - 1] += hist[k];
    // Q: the first i bins (without the folded tail) merged into kLevels levels,
    // each level's mass spread over the bins that are non-empty in P.
    q.assign(i, 0.0);
    for (int level = 0; level < kLevels; ++level) {
      int start = level * i / kLevels, stop = (level + 1) * i / kLevels;
      double mass = 0;
      int used = 0;
      for (int k = start; k < stop; ++k) {
        mass += hist[k];
        used += p[k] > 0;
      }
      if (used == 0) continue;
      for (int k = start; k < stop; ++k)
        if (p[k] > 0) q[k] = mass / used;
    }
    double sp = 0, sq = 0;
    for (int k = 0; k < i; ++k) {
      sp += p[k];
      sq += q[k];
    }
    if (sp <= 0 || sq <= 0) continue;
    double kl = 0;
    for (int k = 0; k < i; ++k) {
      if (p[k] <= 0) continue;
      double pk = p[k] / sp;
      // A bin can hold mass in P and none in Q (the folded tail): smooth it with a
      // small probability rather than make the divergence infinite.
      double qk = std::max(q[k] / sq, 1e-4);
      kl += pk * std::log(pk / qk);
    }
    if (kl < best_kl) {
      best_kl = kl;
      best = i;
    }
  }
  return bin_width * best;
}

std::map<std::string, Range> calibrate(const ir::Model& model, const std::vector<Sample>& samples,
                                       const std::vector<std::string>& names, const CalibrationOptions& o) {
  if (samples.empty()) fail("no calibration samples");
  rt::Session session(model, rt::SessionOptions{std::max(1, o.threads)});
  std::map<std::string, Stats> stats;
  for (const auto& n : names) stats[n];
  std::set<std::string> float_seen;
  sweep(session, samples, names, o, "calibrating", [&](const std::string& name, std::span<const float> x) {
    float_seen.insert(name);
    Stats& s = stats[name];
    for (float v : x) {
      if (!std::isfinite(v)) continue;
      s.lo = std::min<double>(s.lo, v);
      s.hi = std::max<double>(s.hi, v);
    }
  });
  if (o.method != CalibrationMethod::kMinMax) {
    for (auto& [name, s] : stats) {
      s.abs_hist.assign(kBins, 0.0);
      s.hist.assign(kBins, 0.0);
    }
    sweep(session, samples, names, o, "histograms", [&](const std::string& name, std::span<const float> x) {
      Stats& s = stats[name];
      double amax = abs_max(s), abs_width = amax / kBins, width = (s.hi - s.lo) / kBins;
      for (float v : x) {
        if (!std::isfinite(v)) continue;
        s.abs_hist[bin_of(std::fabs(v), 0, abs_width)] += 1;
        s.hist[bin_of(v, s.lo, width)] += 1;
      }
    });
  }
  std::map<std::string, Range> out;
  for (const auto& [name, s] : stats) {
    if (!float_seen.count(name)) continue;  // not float32: nothing to quantize
    if (!(s.lo <= s.hi)) {
      out[name] = Range{};  // never finite: an all-zero range maps to scale 1
      continue;
    }
    out[name] = range_of(s, o);
  }
  return out;
}

}  // namespace pare::passes
