#include "jobs/measure.h"

#include <algorithm>
#include <chrono>

#include "formats/onnx/onnx.h"
#include "lib/runtime/inputs.h"

namespace pare::jobs {
namespace {

struct Fidelity {
  std::vector<metrics::OutputDiff> outputs;
  std::vector<ir::Tensor> first_before, first_after;  // the first output per sample, for labels
};

// Runs both models on every sample and compares each output of `after` with `before`.
Fidelity fidelity(Runner& before, Runner& after, const std::vector<formats::Sample>& all, bool keep_first,
                  Progress& progress) {
  rt::Session &a = before.session(), &b = after.session();
  if (a.output_names().size() != b.output_names().size())
    fail("the models have {} and {} outputs, so their outputs cannot be compared", a.output_names().size(),
         b.output_names().size());
  FidelityProbe pa(before.model()), pb(after.model());
  FidelityAccumulator acc(pa, pb);
  Fidelity f;
  for (size_t i = 0; i < all.size(); ++i) {
    auto ya = pa.run(a, all[i]), yb = pb.run(b, all[i]);
    acc.add(ya, yb);
    if (keep_first) {
      f.first_before.push_back(ya[0]);
      f.first_after.push_back(yb[0]);
    }
    progress.update("evaluating", i + 1, all.size());
  }
  progress.finish();
  f.outputs = acc.result();
  return f;
}

// Names the sample whose error weighs most in each spread.
void name_loudest(std::vector<metrics::OutputDiff>& diffs, const std::vector<std::string>& names) {
  for (auto& d : diffs) {
    if (d.spread && d.spread->loudest < names.size()) d.spread->loudest_name = names[d.spread->loudest];
    name_loudest(d.before_steps, names);
  }
}

// Both models on the samples: fidelity, accuracy when labelled, per-layer error when asked.
metrics::Evaluation evaluate_samples(Runner& before, Runner& after, const std::vector<formats::Sample>& samples,
                                     const std::vector<std::string>& names, const std::vector<int64_t>& labels,
                                     const EvalJob& job, Progress& progress) {
  metrics::Evaluation e;
  e.folder = job.shown_data;
  e.labels = job.shown_labels;
  e.per_layer = job.per_layer;
  e.samples = samples.size();
  Fidelity f = fidelity(before, after, samples, !labels.empty(), progress);
  e.diffs = f.outputs;
  name_loudest(e.diffs, names);
  if (!labels.empty()) {
    e.accuracy = {metrics::top1_accuracy(f.first_before, labels), metrics::top1_accuracy(f.first_after, labels)};
    e.accuracy_lost = metrics::top1_lost(f.first_before, f.first_after, labels);
    if (labels.size() >= 2) e.accuracy_change = metrics::top1_change_range(f.first_before, f.first_after, labels);
  }
  if (job.per_layer)
    e.layers = metrics::per_layer_error(before.model(), after.model(), before.session(), after.session(), samples);
  return e;
}

}  // namespace

FidelityProbe::FidelityProbe(const ir::Model& model) : steps_(metrics::output_steps(model)) {
  for (const auto& o : steps_) {
    outputs_.push_back(o.output);
    before_steps_.insert(before_steps_.end(), o.tensors.begin(), o.tensors.end());
  }
}

std::vector<ir::Tensor> FidelityProbe::run(rt::Session& session, const std::map<std::string, ir::Tensor>& sample) const {
  if (before_steps_.empty()) return session.run(sample);
  std::vector<std::string> names = outputs_;
  names.insert(names.end(), before_steps_.begin(), before_steps_.end());
  auto captured = session.run_capture(sample, names);
  std::vector<ir::Tensor> out;
  for (const auto& n : names) out.push_back(captured.at(n));
  return out;
}

FidelityAccumulator::FidelityAccumulator(const FidelityProbe& reference, const FidelityProbe& got) {
  const auto &r = reference.steps(), &g = got.steps();
  size_t ri = r.size(), gi = g.size();  // where each output's tensors before steps start
  for (size_t o = 0; o < r.size(); ++o) {
    outputs_.emplace_back(r[o].output);
    bool paired = o < g.size() && r[o].tensors.size() == g[o].tensors.size();
    steps_.push_back(paired ? r[o].steps : std::vector<std::string>{});
    for (size_t k = 0; paired && k < r[o].tensors.size(); ++k)
      pairs_.push_back({o, ri + k, gi + k, metrics::OutputDiffAccumulator(r[o].tensors[k])});
    ri += r[o].tensors.size();
    if (o < g.size()) gi += g[o].tensors.size();
  }
}

void FidelityAccumulator::add(const std::vector<ir::Tensor>& reference, const std::vector<ir::Tensor>& got,
                              double weight) {
  for (size_t o = 0; o < outputs_.size(); ++o) outputs_[o].add(reference[o], got[o], weight);
  for (Pair& p : pairs_) {
    const ir::Tensor &a = reference.at(p.reference), &b = got.at(p.got);
    p.usable = p.usable && a.dtype() == ir::DataType::kFloat && b.dtype() == ir::DataType::kFloat && a.dims() == b.dims();
    if (p.usable) p.acc.add(a, b, weight);
  }
}

std::vector<metrics::OutputDiff> FidelityAccumulator::result() const {
  std::vector<metrics::OutputDiff> out;
  for (const auto& a : outputs_) {
    out.push_back(a.result());
    out.back().spread = a.spread();
  }
  // An output is judged before its steps only when every one of its tensors was compared.
  std::vector<bool> whole(out.size(), true);
  for (const Pair& p : pairs_) whole[p.output] = whole[p.output] && p.usable;
  for (const Pair& p : pairs_)
    if (whole[p.output]) {
      out[p.output].steps = steps_[p.output];
      out[p.output].before_steps.push_back(p.acc.result());
      out[p.output].before_steps.back().spread = p.acc.spread();
    }
  return out;
}

rt::Session& Runner::session() {
  if (error_) throw *error_;
  if (!session_) {
    try {
      session_ = std::make_unique<rt::Session>(model_, rt::SessionOptions{threads_});
    } catch (const Error& e) {
      error_ = e;
      throw;
    }
  }
  return *session_;
}

namespace {

// Refuses a static shape whose tensor could not be held within a run's memory
// bound: the run would only stop there, after computing what comes before.
void check_static_sizes(const ir::Model& model, const std::map<std::string, std::vector<int64_t>>& shapes) {
  for (const ir::Value* v : model.graph->values()) {  // one pass: a model may have 200,000 values
    auto it = shapes.find(v->name());
    if (it == shapes.end()) continue;
    int64_t element_bytes = std::max<int64_t>(1, static_cast<int64_t>(ir::size_of(v->dtype)));  // 1 when unknown
    rt::check_fits_a_run(fmt::format("tensor '{}' of static shape", v->name()), it->second, element_bytes);
  }
}

}  // namespace

metrics::MacStats count_macs(Runner& runner, const std::map<std::string, int64_t>& dims) {
  // Static shapes first: most models need no run at all, and one whose shapes ask
  // for more memory than a run may use is refused before anything is computed.
  std::map<std::string, std::vector<int64_t>> shapes;
  try {
    shapes = formats::onnx::static_shapes(runner.model(), rt::input_shapes(runner.model(), dims));
  } catch (const Error&) {  // inference stopped (an op it does not know...): the run decides
  }
  try {
    check_static_sizes(runner.model(), shapes);
    metrics::MacStats s = metrics::count_macs_static(runner.model(), shapes);
    if (s.known) return s;
    return metrics::count_macs(runner.session(), runner.model(), dims);
  } catch (const Error& e) {  // the runner cannot compile it: MACs unknown, with the reason
    metrics::MacStats macs;
    macs.reason = e.what();
    return macs;
  }
}

metrics::ModelFacts measure_model(Runner& runner, const metrics::FileSize& size,
                                  const std::map<std::string, int64_t>& dims) {
  const ir::Model& model = runner.model();
  return {size, metrics::count_weights(model), metrics::count_nodes(model), count_macs(runner, dims),
          metrics::weights_by_layer(model)};
}

std::vector<metrics::StepReport> run_steps(ir::Model& model, const passes::Pipeline& pipeline,
                                           passes::PassContext& ctx, bool verify_each, std::string* last_bytes) {
  std::vector<metrics::StepReport> out;
  pipeline.run(model, ctx, verify_each, [&](const ir::Model& m, const passes::StepResult& r) {
    std::string bytes = formats::onnx::serialize_model(m);
    out.push_back({r.step, r.stats, {static_cast<int64_t>(bytes.size()), metrics::deflate_size(bytes)},
                   metrics::count_weights(m).parameters});
    if (last_bytes) *last_bytes = std::move(bytes);
  });
  return out;
}

SampleShapes shapes_of(const formats::Sample& sample) {
  SampleShapes out;
  for (const auto& [name, t] : sample) out[name] = t.dims();
  return out;
}

std::map<std::string, int64_t> dims_with_samples(const ir::Model& model, const std::map<std::string, int64_t>& dims,
                                                 const SampleShapes& shapes) {
  std::map<std::string, int64_t> out = dims;
  for (const ir::Value* v : model.graph->inputs) {
    auto s = shapes.find(v->name());
    if (!v->shape || s == shapes.end() || s->second.size() != v->shape->rank()) continue;
    for (size_t i = 0; i < v->shape->rank(); ++i) {
      const ir::Dim& d = v->shape->dims[i];
      std::string key = rt::input_dim_key(v->name(), i);
      if (d.is_known() || dims.count(key) || (!d.symbol.empty() && dims.count(d.symbol))) continue;
      out.emplace(key, s->second[i]);
    }
  }
  return out;
}

metrics::Evaluation evaluate(Runner& before, Runner& after, const EvalJob& job, Progress& progress,
                             SampleShapes* first_shapes) {
  formats::SampleSet set;
  std::vector<int64_t> labels;
  try {
    set = formats::read_sample_set(job.data, rt::input_names(before.model()), job.images);
    if (!job.labels.empty()) labels = formats::read_labels(job.labels, set.names);
  } catch (const SamplesError&) {
    throw;
  } catch (const Error& e) {
    throw SamplesError(e);
  }
  if (first_shapes && !set.samples.empty()) *first_shapes = shapes_of(set.samples[0]);
  return evaluate_samples(before, after, set.samples, set.names, labels, job, progress);
}

metrics::Evaluation evaluate(Runner& before, Runner& after, const std::vector<formats::Sample>& samples, const std::vector<std::string>& names,
                             const EvalJob& job, Progress& progress) {
  std::vector<int64_t> labels;
  if (!job.labels.empty()) labels = formats::read_labels(job.labels, names);
  return evaluate_samples(before, after, samples, names, labels, job, progress);
}

metrics::Latency time_runs(rt::Session& session, const std::map<std::string, ir::Tensor>& feed, int runs) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    session.run(feed);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  double median = ms.size() % 2 ? ms[ms.size() / 2] : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2;
  return {median, ms.front(), runs};
}

metrics::Latency measure_latency(Runner& runner, const std::map<std::string, int64_t>& dims, int runs) {
  rt::Session& session = runner.session();
  auto feed = rt::random_feed(runner.model(), dims);
  for (int i = 0; i < 2; ++i) session.run(feed);
  return time_runs(session, feed, runs);
}

void check_budgets(metrics::Report& report, const metrics::Budget& budget) {
  report.budgets = metrics::check_limits(budget, metrics::measured(report.after, report.evaluation ? &*report.evaluation : nullptr));
}

}  // namespace pare::jobs
