#include "jobs/tune_measure.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/base/sha256.h"
#include "lib/metrics/compare.h"
#include "lib/metrics/layers.h"
#include "lib/metrics/storage.h"
#include "lib/runtime/inputs.h"
#include "passes/bias_correct.h"
#include "passes/calibrate.h"
#include "passes/quantize.h"

namespace pare::jobs::tune_detail {
namespace {

using json = nlohmann::json;

// Bumped whenever what a cached figure means changes (choices, noise definition).
constexpr int kCacheFormat = 9;  // 9: sensitivity samples drawn by a proxy's error, weighted

ir::Model parse(const std::string& bytes, const std::string& label, const std::string& dir) {
  return formats::onnx::load_model_from_bytes(bytes, label, dir);
}

std::string sample_digest(const std::vector<formats::Sample>& samples, size_t count) {
  std::string all;
  for (size_t i = 0; i < std::min(count, samples.size()); ++i)
    for (const auto& [name, t] : samples[i]) {
      all += sha256_hex(name) + std::to_string(static_cast<int>(t.dtype()));
      for (int64_t d : t.dims()) all += "," + std::to_string(d);
      all += sha256_hex(std::string_view(reinterpret_cast<const char*>(t.raw()), t.byte_size()));
    }
  return sha256_hex(all);
}

double nsr_of(const metrics::OutputDiff& d) { return d.identical ? 0.0 : std::pow(10.0, -d.sqnr_db / 10.0); }

// Per output: its noise-to-signal ratio, or the worst of the tensors before its steps.
std::vector<double> noise_from(const std::vector<metrics::OutputDiff>& diffs) {
  std::vector<double> out;
  for (const auto& d : diffs) {
    double n = nsr_of(d);
    if (!d.before_steps.empty()) {
      n = 0;
      for (const auto& t : d.before_steps) n = std::max(n, nsr_of(t));
    }
    out.push_back(n);
  }
  return out;
}

// The most the prepared model's stored values for variants' runs may take
// (PP-OCRv4 det, 8 pages of 640x640: a layer's input takes up to 52 MB).
constexpr int64_t kSuffixCacheBytes = int64_t{512} << 20;

// Every weight's stored and deflated bytes of `model`, and its MACs (0 when unknown).
SpaceEffect totals_of(const ir::Model& model, const metrics::MacStats& macs) {
  SpaceEffect t;
  for (const auto& s : metrics::storage_by_tensor(model)) {
    t.raw += static_cast<double>(s.raw_bytes);
    t.deflated += static_cast<double>(s.deflate_bytes);
  }
  t.macs = macs.known ? static_cast<double>(macs.total) : 0.0;
  return t;
}

}  // namespace

std::vector<WeightedSample> choose_sensitivity_samples(const std::vector<std::vector<double>>& proxy, size_t k) {
  const size_t n = proxy.size();
  k = std::max<size_t>(k, 1);
  std::vector<WeightedSample> out;
  if (k >= n) {
    for (size_t s = 0; s < n; ++s) out.push_back({s, 1.0});
    return out;
  }
  // Each sample's share of the proxy's error, averaged over the outputs that have any.
  std::vector<double> p(n, 0.0);
  size_t outputs = 0;
  for (size_t o = 0; n > 0 && o < proxy[0].size(); ++o) {
    double total = 0;
    for (size_t s = 0; s < n; ++s) total += o < proxy[s].size() ? proxy[s][o] : 0.0;
    if (!(total > 0) || !std::isfinite(total)) continue;
    for (size_t s = 0; s < n; ++s) p[s] += (o < proxy[s].size() ? proxy[s][o] : 0.0) / total;
    ++outputs;
  }
  // Half by share, half alike: every sample can be drawn, and a proxy that
  // misjudges a layer cannot take every draw.
  for (double& v : p) v = 0.5 * (outputs ? v / static_cast<double>(outputs) : 1.0 / static_cast<double>(n)) +
                          0.5 / static_cast<double>(n);
  std::vector<size_t> order(n);
  for (size_t s = 0; s < n; ++s) order[s] = s;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  // Certain draws first: a sample whose probability k' * p / total reaches 1.
  size_t first = 0, left = k;
  double total = 1.0;
  while (left > 0 && first < n && static_cast<double>(left) * p[order[first]] >= total) {
    out.push_back({order[first], 1.0});
    total -= p[order[first]];
    ++first, --left;
  }
  // Systematic sampling over the rest, heaviest first: `left` points spaced
  // total / left apart, from half a step in.
  double step = left > 0 ? total / static_cast<double>(left) : 0.0, next = 0.5 * step, at = 0;
  for (size_t i = first; i < n && left > 0 && out.size() < k; ++i) {
    double v = p[order[i]];
    if (at + v > next) {
      out.push_back({order[i], step / v});
      next += step;
    }
    at += v;
  }
  std::sort(out.begin(), out.end(), [](const WeightedSample& a, const WeightedSample& b) { return a.index < b.index; });
  return out;
}

std::vector<std::pair<std::string, double>> Measurer::sensitivity_set() const {
  std::vector<std::pair<std::string, double>> out;
  for (const WeightedSample& w : sensitivity_)
    out.emplace_back(w.index < data_.names.size() ? data_.names[w.index] : std::to_string(w.index), w.weight);
  return out;
}

std::vector<std::vector<double>> Measurer::proxy_errors(int threads, Progress& progress) const {
  ir::Model perturbed = parse(prepared_bytes_, job_.shrink.input, base_dir_);
  std::vector<std::string> all;
  for (const Layer& l : layers_) all.push_back(l.label);
  try {
    passes::PassContext ctx;
    passes::Pipeline::parse(step_text(choice("int8"), all, "", true)).run(perturbed, ctx, false);
  } catch (const InternalError&) {
    throw;
  } catch (const Error&) {
    return {};
  }
  rt::Session session(perturbed, rt::SessionOptions{threads});
  FidelityProbe probe(perturbed);
  std::vector<std::vector<double>> out;
  for (size_t i = 0; i < data_.samples.size(); ++i) {
    std::vector<ir::Tensor> got = probe.run(session, data_.samples[i]);
    const std::vector<ir::Tensor>& ref = reference_[i];
    std::vector<double> errors;
    for (size_t t = 0; t < std::min(ref.size(), got.size()); ++t) {
      double e = 0;
      if (ref[t].dtype() == ir::DataType::kFloat && got[t].dtype() == ir::DataType::kFloat &&
          ref[t].dims() == got[t].dims()) {
        auto a = ref[t].as_double(), b = got[t].as_double();
        for (size_t j = 0; j < a.size(); ++j) e += (a[j] - b[j]) * (a[j] - b[j]);
      }
      errors.push_back(e);
    }
    out.push_back(std::move(errors));
    progress.update("drawing sensitivity samples", i + 1, data_.samples.size());
  }
  progress.finish();
  return out;
}

Measurer::Measurer(const TuneJob& job, std::string original_bytes, Progress& progress)
    : job_(job), original_bytes_(std::move(original_bytes)) {
  std::filesystem::path dir = std::filesystem::path(job.shrink.input).parent_path();
  base_dir_ = dir.empty() ? "." : dir.string();
  ir::Model original = parse(original_bytes_, job.shrink.input, base_dir_);
  ir::Model prepared = parse(original_bytes_, job.shrink.input, base_dir_);
  passes::PassContext ctx;
  passes::Pipeline::parse(kPreparation).run(prepared, ctx, false);
  prepared_bytes_ = formats::onnx::serialize_model(prepared);
  layers_ = find_layers(prepared);
  if (layers_.empty()) fail("no layer to tune: no Conv, ConvTranspose, Gemm or MatMul reads a float32 constant weight");
  try {
    data_ = formats::read_sample_set(job.shrink.eval.data, rt::input_names(original), job.shrink.eval.images);
    if (!job.shrink.eval.labels.empty()) labels_ = formats::read_labels(job.shrink.eval.labels, data_.names);
  } catch (const Error& e) {
    throw SamplesError(e);
  }
  if (data_.samples.empty()) throw SamplesError(Error(fmt::format("{}: holds no samples", job.shrink.eval.data)));
  // MACs are counted at the samples' shapes (a detector's symbolic H and W are the pages' size).
  dims_ = dims_with_samples(original, job.shrink.dims, shapes_of(data_.samples[0]));
  Runner runner(prepared);
  metrics::MacStats macs = count_macs(runner, dims_);
  for (Layer& l : layers_) l.macs = macs.by_node.count(l.label) ? macs.by_node.at(l.label) : 0;
  prepared_totals_ = totals_of(prepared, macs);  // the MACs counted just above
  // The whole-model runs (reference, verification) use every thread; the
  // one-layer variants run one per thread instead (noise()).
  rt::Session reference(original, rt::SessionOptions{std::max(1, job.threads)});
  output_names_ = reference.output_names();
  reference_probe_.emplace(original);
  for (size_t i = 0; i < data_.samples.size(); ++i) {
    reference_.push_back(reference_probe_->run(reference, data_.samples[i]));
    progress.update("reference outputs", i + 1, data_.samples.size());
  }
  progress.finish();
  for (size_t i = 0; i < data_.samples.size(); ++i) all_.push_back({i, 1.0});
  sensitivity_ = all_;
  if (size_t k = std::max<size_t>(1, job.sensitivity_samples); k < data_.samples.size()) {
    // The weighted draw estimates a sum of squared errors over all samples,
    // which is what an SQNR or cosine limit judges. A top-1 or accuracy limit
    // counts decisions instead, and there the draw did worse (design.md,
    // decision 45): the first k samples measure, each standing for n / k.
    const metrics::Budget& b = job.shrink.budget;
    if (b.max_top1_drop || b.min_accuracy) {
      double stands_for = static_cast<double>(data_.samples.size()) / static_cast<double>(k);
      sensitivity_.clear();
      for (size_t i = 0; i < k; ++i) sensitivity_.push_back({i, stands_for});
    } else {
      std::vector<std::vector<double>> proxy = proxy_errors(std::max(1, job.threads), progress);
      if (proxy.empty()) proxy.assign(data_.samples.size(), std::vector<double>{});  // alike
      sensitivity_ = choose_sensitivity_samples(proxy, k);
    }
  }
  {
    // The prepared model's own noise on every sample and on the sensitivity
    // samples (sorted by index), from one run of each sample.
    rt::Session session(prepared, rt::SessionOptions{std::max(1, job.threads)});
    FidelityProbe probe(prepared);
    FidelityAccumulator all(*reference_probe_, probe), chosen(*reference_probe_, probe);
    for (size_t i = 0, next = 0; i < data_.samples.size(); ++i) {
      std::vector<ir::Tensor> y = probe.run(session, data_.samples[i]);
      all.add(reference_[i], y);
      if (next < sensitivity_.size() && sensitivity_[next].index == i)
        chosen.add(reference_[i], y, sensitivity_[next++].weight);
    }
    base_noise_ = noise_from(chosen.result());
    base_noise_all_ = noise_from(all.result());
  }
  std::vector<formats::Sample> chosen;
  for (const WeightedSample& w : sensitivity_) chosen.push_back(data_.samples[w.index]);
  suffix_ = std::make_unique<SuffixRuns>(parse(prepared_bytes_, job.shrink.input, base_dir_), std::move(chosen),
                                         kSuffixCacheBytes, std::max(1, job.threads));
  if (!suffix_->usable()) suffix_.reset();

  std::string calib_digest;
  if (!job.calib.empty()) {
    auto samples = calib_samples(job.calib, rt::input_names(prepared));
    passes::CalibrationOptions copt;  // quantize(int8, calib=...)'s defaults
    copt.threads = std::max(1, job.threads);
    for (const auto& [name, r] : passes::calibrate(prepared, samples, passes::static_activation_names(prepared), copt))
      ranges_[name] = {r.lo, r.hi};
    // What correct= measures in every one-layer variant, measured once (tune on
    // PP-OCRv4 det with eight pages: each variant had run them all again).
    means_ = passes::layer_input_means(prepared, samples, std::max(1, job.threads));
    std::vector<ir::Value*> constants = prepared.graph->constants();
    std::vector<const ir::Value*> weights(constants.begin(), constants.end());
    moments_.emplace(prepared, weights, samples, std::max(1, job.threads));
    calib_digest = sample_digest(samples, samples.size());
  }
  if (!job.cache_dir.empty()) {
    // Which samples measured, and their weights (exactly, as hex floats): a
    // top-1 search and an SQNR search of the same samples measure on different ones.
    std::string measured_on;
    for (const WeightedSample& w : sensitivity_) measured_on += fmt::format("{}:{:a};", w.index, w.weight);
    std::string key = sha256_hex(fmt::format("{}|{}|{}|{}|{}|{}", kCacheFormat, job.version, sha256_hex(original_bytes_),
                                             sample_digest(data_.samples, data_.samples.size()), calib_digest,
                                             sha256_hex(measured_on)));
    std::filesystem::create_directories(job.cache_dir);
    cache_file_ = (std::filesystem::path(job.cache_dir) / ("tune-" + key.substr(0, 32) + ".json")).string();
    if (std::filesystem::exists(cache_file_)) {
      // A cache that cannot be read is measured again, not trusted.
      // Read plainly, not as an input: the job rewrites its own cache.
      std::ifstream in(cache_file_, std::ios::binary);
      json j = json::parse(in, nullptr, false);
      if (j.is_object() && j.value("format", 0) == kCacheFormat) {
        for (auto& [k, v] : j["noise"].items())
          noise_cache_[k] = v.is_null() ? Noise{} : Noise{v.get<std::vector<double>>()};
        for (auto& [k, v] : j["effects"].items())
          effects_[k] = {v[0].get<double>(), v[1].get<double>(), v[2].get<double>()};
        for (auto& [k, v] : j["bytes"].items()) {
          std::vector<LayerBytes> b;
          for (auto& e : v) b.push_back({e[0].get<int64_t>(), e[1].get<int64_t>()});
          if (b.size() == layers_.size()) bytes_cache_[k] = b;
        }
      }
    }
  }
}

std::vector<formats::Sample> Measurer::calib_samples(const std::string& dir, const std::vector<std::string>& inputs) {
  std::lock_guard<std::mutex> lock(samples_mutex_);
  auto it = calib_.find(dir);
  if (it == calib_.end()) it = calib_.emplace(dir, job_.shrink.load_samples(dir, inputs)).first;
  return it->second;
}

std::vector<metrics::OutputDiff> Measurer::against_reference(const ir::Model& model, rt::Session& session,
                                                             const std::vector<WeightedSample>& samples,
                                                             std::vector<ir::Tensor>* first) const {
  FidelityProbe probe(model);
  FidelityAccumulator acc(*reference_probe_, probe);
  for (const WeightedSample& w : samples) {
    auto y = probe.run(session, data_.samples[w.index]);
    acc.add(reference_[w.index], y, w.weight);
    if (first) first->push_back(y[0]);
  }
  return acc.result();
}

std::vector<double> Measurer::noise_of(const ir::Model& model, rt::Session& session,
                                       const std::vector<WeightedSample>& samples) const {
  return noise_from(against_reference(model, session, samples, nullptr));
}

std::vector<double> Measurer::variant_noise(ir::Model& variant, const std::function<ir::Model()>& rebuild) {
  if (suffix_) {
    FidelityProbe probe(variant);
    std::optional<std::vector<std::vector<ir::Tensor>>> got;
    try {
      got = suffix_->run(variant, probe);
    } catch (const InternalError&) {
      throw;
    } catch (const Error&) {
      variant = rebuild();  // the cut may have begun: run the whole variant below
    }
    if (got) {
      FidelityAccumulator acc(*reference_probe_, probe);
      for (size_t i = 0; i < got->size(); ++i)
        acc.add(reference_[sensitivity_[i].index], (*got)[i], sensitivity_[i].weight);
      return noise_from(acc.result());
    }
  }
  rt::Session session(variant);
  return noise_of(variant, session, sensitivity_);
}

passes::PassContext Measurer::pass_context() {
  passes::PassContext ctx;
  ctx.load_samples = [this](const std::string& dir, const std::vector<std::string>& inputs) {
    return calib_samples(dir, inputs);
  };
  return ctx;
}

Noise Measurer::measure(size_t layer, const std::string& key) {
  const Layer& l = layers_[layer];
  const Choice& c = choice(key);
  if (c.axis == Axis::kChannels && !l.channel_head) return std::nullopt;
  std::vector<double> n;
  try {
    auto build = [&] {
      ir::Model variant = parse(prepared_bytes_, job_.shrink.input, base_dir_);
      passes::PassContext ctx = pass_context();
      ctx.known_ranges = [this] { return ranges_; };
      // The variant is the prepared model plus one step: its layers' input means are the prepared model's.
      ctx.known_means = [this](const std::string& dir) { return dir == job_.calib ? &means_ : nullptr; };
      ctx.known_moments = [this](const std::string& dir) {
        return dir == job_.calib && moments_ ? &*moments_ : nullptr;
      };
      passes::Pipeline::parse(step_text(c, key == "qdq" ? l.static_labels : std::vector<std::string>{l.label}, job_.calib))
          .run(variant, ctx, false);
      return variant;
    };
    ir::Model variant = build();
    if (c.axis != Axis::kChannels) {
      n = variant_noise(variant, build);
    } else {
      // A channel that is dead on a few samples can be alive on others (a
      // squeeze-excite gate): channel choices, one per space, run whole on every sample.
      rt::Session session(variant);
      n = noise_of(variant, session, all_);
      Runner runner(variant);
      SpaceEffect after = totals_of(variant, count_macs(runner, dims_));
      std::lock_guard<std::mutex> lock(effects_mutex_);
      effects_[l.label + "|" + key] = {prepared_totals_.raw - after.raw, prepared_totals_.deflated - after.deflated,
                                       after.macs > 0 ? prepared_totals_.macs - after.macs : 0.0};
    }
  } catch (const InternalError&) {
    throw;
  } catch (const Error&) {
    return std::nullopt;  // the pass refuses this layer (too small for the palette ...)
  }
  const std::vector<double>& base = c.axis == Axis::kChannels ? base_noise_all_ : base_noise_;
  for (size_t o = 0; o < n.size(); ++o) n[o] = std::max(0.0, n[o] - base[o]);
  return n;
}

std::map<std::pair<size_t, std::string>, Noise> Measurer::noise(const std::vector<std::pair<size_t, std::string>>& tasks,
                                                                 const std::function<bool()>& may_start,
                                                                 Progress& progress) {
  std::map<std::pair<size_t, std::string>, Noise> out;
  std::vector<std::pair<size_t, std::string>> todo;
  for (const auto& t : tasks) {
    auto hit = noise_cache_.find(layers_[t.first].label + "|" + t.second);
    if (hit != noise_cache_.end()) {
      out[t] = hit->second;
      ++cached_;
    } else {
      todo.push_back(t);
    }
  }
  std::atomic<size_t> next{0}, done{0};
  std::mutex m;
  std::exception_ptr failure;
  auto work = [&](bool draws) {
    try {
      for (;;) {
        {
          std::lock_guard<std::mutex> lock(m);
          if (failure || next >= todo.size() || !may_start()) return;
        }
        size_t i = next++;
        if (i >= todo.size()) return;
        Noise n = measure(todo[i].first, todo[i].second);
        std::lock_guard<std::mutex> lock(m);
        out[todo[i]] = n;
        noise_cache_[layers_[todo[i].first].label + "|" + todo[i].second] = n;
        ++measured_;
        ++done;
        if (draws) progress.update("sensitivity", done, todo.size());
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(m);
      if (!failure) failure = std::current_exception();
    }
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < std::max(1, job_.threads); ++t) helpers.emplace_back(work, false);
  work(true);
  for (auto& h : helpers) h.join();
  progress.finish();
  if (failure) std::rethrow_exception(failure);
  return out;
}

std::optional<SpaceEffect> Measurer::effect(size_t layer, const std::string& key) const {
  std::lock_guard<std::mutex> lock(effects_mutex_);
  auto it = effects_.find(layers_[layer].label + "|" + key);
  if (it == effects_.end()) return std::nullopt;
  return it->second;
}

std::vector<LayerBytes> Measurer::layer_bytes(const std::string& sparsity, const std::string& storage) {
  std::string key = sparsity + "|" + storage;
  if (auto it = bytes_cache_.find(key); it != bytes_cache_.end()) return it->second;
  ir::Model variant = parse(prepared_bytes_, job_.shrink.input, base_dir_);
  std::vector<std::string> all;
  for (const Layer& l : layers_) all.push_back(l.label);
  passes::PassContext ctx;
  std::vector<std::string> steps;
  if (!sparsity.empty()) steps.push_back(step_text(choice(sparsity), all, ""));
  if (!storage.empty()) steps.push_back(step_text(choice(storage), all, ""));
  for (const auto& s : steps) {
    try {
      passes::Pipeline::parse(s).run(variant, ctx, false);
    } catch (const InternalError&) {
      throw;
    } catch (const Error&) {
      // No layer takes it (all too small for the palette): each stays as it was.
    }
  }
  std::map<std::string, metrics::TensorStorage> by_name;
  for (auto& s : metrics::storage_by_tensor(variant)) by_name.emplace(s.name, s);
  std::vector<LayerBytes> out;
  for (const Layer& l : layers_) {
    auto it = by_name.find(l.weight);
    out.push_back(it == by_name.end() ? LayerBytes{l.parameters * 4, l.parameters * 4}
                                      : LayerBytes{it->second.raw_bytes, it->second.deflate_bytes});
  }
  bytes_cache_[key] = out;
  return out;
}

metrics::TunePoint Measurer::verify(const std::string& pipeline, const metrics::Budget& fidelity) {
  ir::Model model = parse(original_bytes_, job_.shrink.input, base_dir_);
  passes::Pipeline p = passes::Pipeline::parse(pipeline);
  model.set_metadata("pare.pipeline", p.str());  // as the shrink job writes it
  passes::PassContext ctx = pass_context();
  ctx.threads = std::max(1, job_.threads);  // one model at a time: every thread on it
  try {
    p.run(model, ctx, false);
  } catch (const InternalError&) {
    throw;
  } catch (const Error& e) {
    // Choices that each apply alone can leave a step nothing to do together (a
    // channel choice shrinks a neighbour's weight below a pass's minimum size).
    metrics::TunePoint failed;
    failed.error = e.what();
    return failed;
  }
  metrics::FileSize size = metrics::measure_bytes(formats::onnx::serialize_model(model), "");
  rt::Session session(model, rt::SessionOptions{std::max(1, job_.threads)});
  std::vector<ir::Tensor> first;
  std::vector<metrics::OutputDiff> diffs = against_reference(model, session, all_, &first);
  metrics::Measured m;
  m.bytes = size.file_bytes;
  m.download_bytes = size.download_bytes;
  std::optional<double> accuracy, lost;
  if (!labels_.empty()) {
    std::vector<ir::Tensor> original;
    for (const auto& r : reference_) original.push_back(r[0]);
    accuracy = metrics::top1_accuracy(first, labels_);
    lost = metrics::top1_lost(original, first, labels_);
  }
  metrics::add_fidelity(m, diffs, accuracy, lost);
  metrics::TunePoint point;
  point.bytes = size.file_bytes;
  point.download_bytes = size.download_bytes;
  point.sqnr = m.sqnr;
  point.cosine = m.cosine;
  point.top1_drop = m.top1_drop;
  point.accuracy = m.accuracy;
  Runner runner(model);
  if (metrics::MacStats macs = count_macs(runner, dims_); macs.known) point.macs = macs.total;
  point.ok = true;
  for (const auto& r : metrics::check_limits(fidelity, m)) point.ok = point.ok && r.ok;
  return point;
}

void Measurer::save_cache() const {
  if (cache_file_.empty()) return;
  json j;
  j["format"] = kCacheFormat;
  j["noise"] = json::object();
  j["bytes"] = json::object();
  j["effects"] = json::object();
  for (const auto& [k, v] : noise_cache_) j["noise"][k] = v ? json(*v) : json(nullptr);
  {
    std::lock_guard<std::mutex> lock(effects_mutex_);
    for (const auto& [k, e] : effects_) j["effects"][k] = {e.raw, e.deflated, e.macs};
  }
  for (const auto& [k, v] : bytes_cache_) {
    json a = json::array();
    for (const auto& b : v) a.push_back({b.raw, b.deflated});
    j["bytes"][k] = a;
  }
  write_file_atomic(cache_file_, j.dump(1) + "\n");
}

}  // namespace pare::jobs::tune_detail
