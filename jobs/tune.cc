#include "jobs/tune.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>

#include "jobs/tune_measure.h"
#include "lib/base/atomic_file.h"
#include "lib/base/strings.h"

namespace pare::jobs {
namespace {

using namespace tune_detail;
using Clock = std::chrono::steady_clock;

// Device time of a layer with int8 activations relative to float32: integer
// convolution kernels (XNNPACK's QS8, ONNX Runtime's QLinearConv on ARM) run
// about twice as fast as float ones. pare's own runner executes QDQ literally,
// so the latency objective is this estimate, not a timing (docs/tuning.md).
constexpr double kInt8TimeRatio = 0.5;

double to_db(double nsr) { return nsr <= 1e-20 ? 200.0 : std::min(200.0, -10.0 * std::log10(nsr)); }

// The largest noise a single choice may add and still be worth considering:
// above what the whole model may carry (twice it, as the additive model is an
// estimate), a coarser choice of the same kind is not measured.
double noise_cap(const metrics::Budget& b) {
  if (b.min_sqnr) return 2.0 * std::pow(10.0, -*b.min_sqnr / 10.0);
  if (b.min_cosine) return 4.0 * std::max(1e-12, 1.0 - *b.min_cosine);
  return 0.1;  // top-1 and accuracy limits: 10 dB
}

// Where the noise-budget search starts.
double first_budget(const metrics::Budget& b) {
  if (b.min_sqnr) return std::pow(10.0, -*b.min_sqnr / 10.0);
  if (b.min_cosine) return 2.0 * std::max(1e-12, 1.0 - *b.min_cosine);
  return 0.01;
}

metrics::Budget fidelity_only(const metrics::Budget& b) {
  metrics::Budget f;
  f.min_sqnr = b.min_sqnr;
  f.min_cosine = b.min_cosine;
  f.max_top1_drop = b.max_top1_drop;
  f.min_accuracy = b.min_accuracy;
  return f;
}

// One configuration of one layer, with its estimated noise and cost.
struct Option {
  Config config;
  double noise = 0, cost = 0;
};

// The worst output's noise when the noises of a few choices add up.
double worst(const std::vector<double>& a, const std::vector<double>& b = {}, const std::vector<double>& c = {}) {
  double w = 0;
  for (size_t o = 0; o < a.size(); ++o) w = std::max(w, a[o] + (b.empty() ? 0.0 : b[o]) + (c.empty() ? 0.0 : c[o]));
  return w;
}

class Search {
 public:
  Search(const TuneJob& job, Measurer& m, Progress& progress) : job_(job), m_(m), progress_(progress) {
    for (const auto& key : job.choices.empty() ? tune_choice_keys() : job.choices)
      if (key != "qdq" || !job.calib.empty()) enabled_.push_back(key);
  }

  void measure_sensitivity(metrics::TuneSummary& s, Clock::time_point start) {
    double cap = noise_cap(job_.shrink.budget);
    std::atomic<int64_t> started{0};
    auto may_start = [&] {
      if (job_.max_evals > 0 && started >= job_.max_evals) return false;
      if (job_.max_seconds > 0 && std::chrono::duration<double>(Clock::now() - start).count() > job_.max_seconds)
        return false;
      ++started;
      return true;
    };
    for (;;) {
      std::vector<std::pair<size_t, std::string>> ready;
      for (size_t l = 0; l < m_.layers().size(); ++l)
        for (const auto& key : enabled_) {
          if (noise_.count({l, key}) || !applies(l, key)) continue;
          const std::string& after = choice(key).after;
          bool gate = after.empty() || std::find(enabled_.begin(), enabled_.end(), after) == enabled_.end();
          if (!gate) {
            auto it = noise_.find({l, after});
            gate = it != noise_.end() && it->second && worst(*it->second, {}) <= cap;
          }
          if (gate) ready.emplace_back(l, key);
        }
      if (ready.empty()) break;
      auto got = m_.noise(ready, may_start, progress_);
      noise_.insert(got.begin(), got.end());
      m_.save_cache();  // after each wave: an interrupted search keeps what it measured
      if (got.size() < ready.size()) {
        s.stopped = job_.max_evals > 0 && started >= job_.max_evals ? "max-evals" : "max-seconds";
        break;
      }
    }
    s.evaluations = m_.measured();
    s.cached = m_.cached();
    int64_t applicable = 0;
    for (size_t l = 0; l < m_.layers().size(); ++l)
      for (const auto& key : enabled_) applicable += applies(l, key);
    s.skipped = applicable - static_cast<int64_t>(noise_.size());
  }

  // Channel choices belong to the head of a channel space only.
  bool applies(size_t l, const std::string& key) const {
    return choice(key).axis != Axis::kChannels || m_.layers()[l].channel_head;
  }

  void build_options() {
    std::vector<std::string> sparsities = {""}, storages = {""}, channels = {""};
    for (const auto& key : enabled_) {
      Axis a = choice(key).axis;
      (a == Axis::kSparsity ? sparsities : a == Axis::kChannels ? channels : storages).push_back(key);
    }
    std::map<std::string, std::vector<LayerBytes>> bytes;
    for (const auto& sp : sparsities)
      for (const auto& st : storages)
        if (st != "qdq") bytes[sp + "|" + st] = m_.layer_bytes(sp, st);
    options_.assign(m_.layers().size(), {});
    const Noise none(std::vector<double>(m_.outputs(), 0.0));
    for (size_t l = 0; l < m_.layers().size(); ++l)
      for (const auto& ch : channels)
        for (const auto& sp : sparsities)
          for (const auto& st : storages) {
            const Noise& a = sp.empty() ? none : lookup(l, sp);
            const Noise& b = st.empty() ? none : lookup(l, st);
            const Noise& c = ch.empty() ? none : lookup(l, ch);
            std::optional<SpaceEffect> removed = ch.empty() ? SpaceEffect{} : m_.effect(l, ch);
            if (!a || !b || !c || !removed) continue;
            if (st == "qdq" && !bytes.count(sp + "|int8")) continue;
            const LayerBytes& lb = bytes[sp + "|" + (st == "qdq" ? "int8" : st)][l];
            options_[l].push_back({{sp, st, ch}, worst(*a, *b, *c), cost(l, st, lb, *removed)});
          }
  }

  // The configuration the greedy picks within noise budget `t`.
  std::vector<Config> allocate(double t) const {
    struct Segment {
      size_t layer, to, order;
      double noise, efficiency;
    };
    std::vector<Segment> segments;
    for (size_t l = 0; l < options_.size(); ++l) {
      const auto& opts = options_[l];
      size_t at = 0;  // the float32 option comes first
      for (size_t order = 0;; ++order) {
        size_t best = opts.size();
        double best_slope = -1;
        for (size_t j = 0; j < opts.size(); ++j) {
          if (opts[j].cost >= opts[at].cost - 1e-9 || opts[j].noise < opts[at].noise) continue;
          double dn = opts[j].noise - opts[at].noise;
          double slope = dn <= 0 ? std::numeric_limits<double>::infinity() : (opts[at].cost - opts[j].cost) / dn;
          if (slope > best_slope) best = j, best_slope = slope;
        }
        if (best == opts.size()) break;
        segments.push_back({l, best, order, opts[best].noise - opts[at].noise, best_slope});
        at = best;
      }
    }
    std::stable_sort(segments.begin(), segments.end(),
                     [](const Segment& a, const Segment& b) { return a.efficiency > b.efficiency; });
    std::vector<Config> configs(options_.size());
    std::vector<size_t> taken(options_.size(), 0);
    double used = 0;
    for (const Segment& s : segments) {
      if (s.order != taken[s.layer] || used + s.noise > t) continue;
      used += s.noise;
      ++taken[s.layer];
      configs[s.layer] = options_[s.layer][s.to].config;
    }
    return configs;
  }

  // The storage choices measured, finest first (for the uniform candidates).
  std::vector<std::string> uniform_storages() const {
    std::vector<std::string> out;
    for (const auto& key : enabled_)
      if (choice(key).axis == Axis::kStorage) out.push_back(key);
    return out;
  }

  // Every layer stored as `storage` where that option exists, float32 elsewhere.
  std::vector<Config> uniform(const std::string& storage) const {
    std::vector<Config> configs(options_.size());
    for (size_t l = 0; l < options_.size(); ++l)
      if (option(l, {"", storage})) configs[l] = {"", storage};
    return configs;
  }

  // The configurations from `from` to `to` (config_path), each layer's move
  // estimated by its options.
  std::vector<std::vector<Config>> path(const std::vector<Config>& from, const std::vector<Config>& to) const {
    return config_path(from, to, [&](size_t l) {
      const Option *a = option(l, from[l]), *b = option(l, to[l]);
      return a && b ? std::pair{a->cost - b->cost, b->noise - a->noise} : std::pair{0.0, 0.0};
    });
  }

  double estimated_noise(const std::vector<Config>& configs) const { return sum_of(configs, &Option::noise); }
  double estimated_cost(const std::vector<Config>& configs) const { return sum_of(configs, &Option::cost); }

  const Noise& lookup(size_t l, const std::string& key) const {
    static const Noise missing;
    auto it = noise_.find({l, key});
    return it == noise_.end() ? missing : it->second;
  }

 private:
  const Option* option(size_t l, const Config& c) const {
    for (const Option& o : options_[l])
      if (o.config == c) return &o;
    return nullptr;
  }

  // The sum over layers of one figure of each layer's configured option.
  double sum_of(const std::vector<Config>& configs, double Option::*figure) const {
    double sum = 0;
    for (size_t l = 0; l < configs.size(); ++l)
      if (const Option* o = option(l, configs[l])) sum += o->*figure;
    return sum;
  }

  // The objective's figure for layer `l` stored as `b`, less what its channel
  // choice removes from the whole model. Removed float32 bytes count at the
  // layer's own storage ratio (an estimate: the whole model is verified).
  double cost(size_t l, const std::string& storage, const LayerBytes& b, const SpaceEffect& removed) const {
    double float_bytes = 4.0 * static_cast<double>(std::max<int64_t>(1, m_.layers()[l].parameters));
    double raw = static_cast<double>(b.raw), deflated = static_cast<double>(b.deflated);
    raw -= removed.raw * raw / float_bytes;
    deflated -= removed.deflated * deflated / float_bytes;
    double macs = static_cast<double>(m_.layers()[l].macs) - removed.macs;
    switch (job_.objective) {
      case TuneObjective::kBytes: return raw;
      case TuneObjective::kDownload: return deflated;
      case TuneObjective::kLatency:
        // MAC time first; among equal times the smaller download.
        return macs * (storage == "qdq" ? kInt8TimeRatio : 1.0) + 1e-3 * deflated;
      case TuneObjective::kMacs: return macs + 1e-3 * deflated;  // among equal MACs the smaller download
    }
    return 0;
  }

  const TuneJob& job_;
  Measurer& m_;
  Progress& progress_;
  std::vector<std::string> enabled_;
  std::map<std::pair<size_t, std::string>, Noise> noise_;
  std::vector<std::vector<Option>> options_;
};

// The figure the objective minimises on a verified point.
double figure(const metrics::TunePoint& p, TuneObjective o) {
  if (o == TuneObjective::kBytes) return static_cast<double>(p.bytes);
  if (o == TuneObjective::kDownload) return static_cast<double>(p.download_bytes);
  if (o == TuneObjective::kMacs && p.macs)  // counted; among equal counts the smaller download
    return static_cast<double>(*p.macs) + 1e-3 * static_cast<double>(p.download_bytes);
  return p.cost;
}

constexpr int kRepairVerifications = 6;  // at most, and no more than --verifications

using Tried = std::vector<std::pair<std::vector<Config>, metrics::TunePoint>>;

// The verified configuration that passes with the smallest objective figure
// (the first of equals), or nullptr.
const Tried::value_type* best_passing(const Tried& tried, TuneObjective objective) {
  const Tried::value_type* best = nullptr;
  for (const auto& entry : tried)
    if (entry.second.ok && (!best || figure(entry.second, objective) < figure(best->second, objective))) best = &entry;
  return best;
}

using Verify = std::function<const metrics::TunePoint*(const std::vector<Config>&, int limit)>;

// Path repair. The greedy's configurations are nested and its noise estimate
// adds single-layer noises, so the budget bisection can stop well above what a
// whole-model check would pass: on the text-direction classifier a uniform
// configuration 11% smaller than the best verified one missed its top-1 limit
// by one line in a thousand. Between the best passing configuration and the
// failing one cheaper than it that came closest to the limits, layers move
// one at a time (Search::path); a bisection over how many have moved keeps the
// cheapest passing point it meets (every verified point is a candidate). While
// checks remain, again from the best passing point to the next closest failing
// one not yet started from.
void repair(const Search& search, const Tried& tried, const metrics::Budget& budget, const TuneJob& job,
            const Verify& verify, const int64_t& verifications) {
  int limit = static_cast<int>(verifications) + std::min(kRepairVerifications, job.max_verifications);
  std::vector<std::vector<Config>> started;
  while (verifications < limit) {
    const Tried::value_type* pass = best_passing(tried, job.objective);
    if (!pass) return;
    const std::vector<Config>* fail = nullptr;
    double closest = std::numeric_limits<double>::infinity();
    for (const auto& [c, p] : tried) {
      if (p.ok || !p.error.empty() || !(figure(p, job.objective) < figure(pass->second, job.objective)) ||
          std::find(started.begin(), started.end(), c) != started.end())
        continue;
      if (double by = shortfall(p, budget); by < closest) fail = &c, closest = by;
    }
    if (!fail) return;
    started.push_back(*fail);
    std::vector<std::vector<Config>> steps = search.path(pass->first, *fail);  // copies: verify adds to `tried`
    size_t lo = 0, hi = steps.size() - 1;  // steps[lo] passes, steps[hi] fails
    while (hi - lo > 1 && verifications < limit) {
      size_t mid = (lo + hi) / 2;
      const metrics::TunePoint* p = nullptr;
      for (const auto& [c, point] : tried)
        if (c == steps[mid]) p = &point;  // met before: its verdict stands
      if (!p && !(p = verify(steps[mid], limit))) return;
      (p->ok ? lo : hi) = mid;
    }
  }
}

}  // namespace

TuneObjective parse_objective(const std::string& text) {
  if (text == "download") return TuneObjective::kDownload;
  if (text == "bytes") return TuneObjective::kBytes;
  if (text == "latency") return TuneObjective::kLatency;
  if (text == "macs") return TuneObjective::kMacs;
  fail("'{}' is not an objective (download, bytes, latency or macs)", text);
}

std::string objective_name(TuneObjective o) {
  switch (o) {
    case TuneObjective::kBytes: return "bytes";
    case TuneObjective::kLatency: return "latency";
    case TuneObjective::kMacs: return "macs";
    case TuneObjective::kDownload: break;
  }
  return "download";
}

const std::vector<std::string>& tune_choice_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const Choice& c : all_choices()) k.push_back(c.key);
    return k;
  }();
  return keys;
}

TuneResult tune(const TuneJob& job, Progress& progress) {
  auto start = Clock::now();
  if (!job.shrink.budget.needs_data())
    fail("tune needs a fidelity limit to stay within (min-sqnr, min-cosine, max-top1-drop or min-accuracy)");
  if (!job.shrink.eval.enabled()) fail("tune needs samples to measure on");
  for (const auto& key : job.choices)
    if (std::find(tune_choice_keys().begin(), tune_choice_keys().end(), key) == tune_choice_keys().end())
      fail("'{}' is not a choice ({})", key, join(tune_choice_keys(), ", "));
  std::string original = read_input_file(job.shrink.input);
  Measurer m(job, original, progress);
  Search search(job, m, progress);
  metrics::TuneSummary s;
  s.objective = objective_name(job.objective);
  s.search_samples = m.samples();
  s.sensitivity_samples = m.sensitivity_samples();
  s.sensitivity_set = m.sensitivity_set();
  s.cache = job.cache_dir;
  search.measure_sensitivity(s, start);
  search.build_options();
  m.save_cache();

  // The noise budget: grown while the result verifies, shrunk while it does not, then bisected.
  metrics::Budget fidelity = fidelity_only(job.shrink.budget);
  Tried tried;
  auto verify_configs = [&](const std::vector<Config>& configs, double t, int limit) -> const metrics::TunePoint* {
    for (auto& [c, p] : tried)
      if (c == configs) return nullptr;  // the same configuration: nothing new to learn
    if (s.verifications >= limit) return nullptr;
    progress.update("verifying", static_cast<size_t>(s.verifications) + 1, static_cast<size_t>(limit));
    metrics::TunePoint p = m.verify(pipeline_text(m.layers(), configs, job.calib), fidelity);
    p.noise_budget_db = to_db(t);
    p.cost = search.estimated_cost(configs);
    p.int8_layers = std::count_if(configs.begin(), configs.end(), [](const Config& c) { return c.storage == "qdq"; });
    ++s.verifications;
    tried.emplace_back(configs, p);
    return &tried.back().second;
  };
  auto verify = [&](double t) { return verify_configs(search.allocate(t), t, job.max_verifications); };
  double t = first_budget(job.shrink.budget), lo = 0, hi = 0;
  const metrics::TunePoint* p = verify(t);
  bool ok = p && p->ok;
  (ok ? lo : hi) = t;
  for (int i = 0; i < 12 && s.verifications < job.max_verifications; ++i) {
    t = ok ? t * 4 : t / 4;
    p = verify(t);
    if (!p) continue;  // the same configuration as before (or no verification left)
    if (p->ok != ok) {
      (p->ok ? lo : hi) = t;
      break;
    }
    (ok ? lo : hi) = t;
  }
  while (lo > 0 && hi > 0 && hi / lo > 1.3 && s.verifications < job.max_verifications) {
    double mid = std::sqrt(lo * hi);
    p = verify(mid);
    if (!p) break;
    (p->ok ? lo : hi) = mid;
  }
  // The greedy's configurations are nested, and the additive estimate can keep
  // it from one that a whole-model check would pass: each uniform storage (every
  // layer alike) that would cost less than the best verified one is checked too,
  // so the result is never worse than the best uniform choice that holds.
  for (const auto& key : search.uniform_storages()) {
    std::vector<Config> uniform = search.uniform(key);
    double best_cost = std::numeric_limits<double>::infinity();
    for (const auto& [c, point] : tried)
      if (point.ok) best_cost = std::min(best_cost, search.estimated_cost(c));
    if (search.estimated_cost(uniform) < best_cost) verify_configs(uniform, search.estimated_noise(uniform), job.max_verifications + 2);
  }
  repair(search, tried, fidelity, job, [&](const std::vector<Config>& c, int limit) {
    return verify_configs(c, search.estimated_noise(c), limit);
  }, s.verifications);
  progress.finish();

  // The best verified configuration (none verified: every layer as it is).
  const Tried::value_type* best = best_passing(tried, job.objective);
  std::vector<Config> chosen = best ? best->first : std::vector<Config>(m.layers().size());
  for (auto& [c, point] : tried) {
    point.chosen = best && &point == &best->second;
    if (point.error.empty()) s.front.push_back(point);
    else ++s.unbuilt;
  }
  std::stable_sort(s.front.begin(), s.front.end(), [&](const auto& a, const auto& b) {
    return figure(a, job.objective) < figure(b, job.objective);
  });
  for (size_t l = 0; l < m.layers().size(); ++l) {
    metrics::TuneLayerReport r{m.layers()[l].label, m.layers()[l].op, m.layers()[l].parameters, chosen[l].str(), {}};
    for (const auto& key : tune_choice_keys())
      if (const Noise& n = search.lookup(l, key)) r.sqnr_db[key] = to_db(worst(*n, {}));
    s.layers.push_back(r);
  }

  ShrinkJob sj = job.shrink;
  sj.threads = std::max(1, job.threads);
  sj.error_context = job.shrink.input;
  sj.input_bytes = &original;
  sj.pipeline = sj.shown = passes::Pipeline::parse(pipeline_text(m.layers(), chosen, job.calib));
  TuneResult out{shrink(sj, progress)};
  s.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.shrink.report.tune = s;
  return out;
}

}  // namespace pare::jobs
