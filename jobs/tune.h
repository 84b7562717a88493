// The tune job: the smallest model within an accuracy budget, found from
// per-layer sensitivity (docs/tuning.md).
//
// The route: prepare the model (fold, fuse-bn, fuse-act, dce), list its weight layers
// (Conv, ConvTranspose, Gemm, MatMul with a constant float weight) and measure,
// for each layer alone, how far each choice moves the outputs on the samples
// (noise-to-signal ratio per output; cached on disk). Per-layer costs (stored
// and deflated bytes, or an estimate of device latency) come from applying each
// choice to every layer at once and reading the storage of each weight. A noise
// budget T is spent greedily, layer choices in order of cost saved per noise
// added (the lower convex hull of each layer's choices); the whole model so
// chosen is built from its pipeline text and verified on all samples against the
// user's fidelity limits, and T is searched (grown while verified, shrunk when
// not, then bisected), which backs off where layers interact. The best verified
// configuration is written by the shrink job from its pipeline text, so
// `pare shrink --passes` rebuilds it byte for byte.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "jobs/measure.h"
#include "jobs/shrink.h"
#include "lib/metrics/report.h"

namespace pare::jobs {

enum class TuneObjective { kDownload, kBytes, kLatency, kMacs };
TuneObjective parse_objective(const std::string& text);  // throws pare::Error
std::string objective_name(TuneObjective o);

struct TuneJob {
  // The shrink job tune ends with, but for its pipeline (the search chooses it):
  // input and output, the report's names, eval (the search samples and labels),
  // dims, latency_runs, load_samples, other_outputs, keep_failed, and budget
  // (fidelity limits: the constraints; size limits: checked at the end).
  ShrinkJob shrink;
  std::string calib, shown_calib;         // static int8's calibration folder ("": no static int8 choices)
  TuneObjective objective = TuneObjective::kDownload;
  std::string cache_dir;                  // sensitivities kept here ("": none)
  int64_t max_evals = 0;                  // sensitivity evaluations measured (0: no bound)
  double max_seconds = 0;                 // wall time of the search (0: no bound)
  int threads = 2;                        // evaluations run in parallel
  size_t sensitivity_samples = 8;         // N samples measure sensitivity (choose_sensitivity_samples); all verify
  int max_verifications = 8;              // whole-model checks of the noise-budget search
  std::vector<std::string> choices;       // choice keys to consider (empty: all); see tune_choice_keys()
  std::string version;                     // pare's version: part of the cache key
};

// Every choice key tune knows, in order: fp16 int8 int7 int6 p6 p4 p3 int4 s25 s50 s75 qdq c25 c50.
const std::vector<std::string>& tune_choice_keys();

struct TuneResult {
  ShrinkResult shrink;  // the written model and its report (with report.tune)
};

// Throws pare::Error on bad input (nothing written); a model that meets no size
// limit is still written (the closest configuration) and its budgets fail.
TuneResult tune(const TuneJob& job, Progress& progress);

}  // namespace pare::jobs
