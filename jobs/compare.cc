#include "jobs/compare.h"

#include "formats/onnx/onnx.h"

namespace pare::jobs {

metrics::Report compare(const CompareJob& job, Progress& progress) {
  ir::Model a = formats::onnx::load_model(job.a);
  ir::Model b = formats::onnx::load_model(job.b);
  Runner ra(a), rb(b);
  metrics::Report r;
  r.input = job.a;
  r.output = job.b;
  r.before = measure_model(ra, metrics::measure_file(job.a), job.dims);
  r.after = measure_model(rb, metrics::measure_file(job.b), job.dims);
  SampleShapes sample_shapes;
  if (job.eval.enabled()) {
    try {
      r.evaluation = evaluate(ra, rb, job.eval, progress, &sample_shapes);
    } catch (const SamplesError&) {
      throw;  // the caller names the samples, and then both models
    } catch (Error& e) {
      e.with_context(job.a + " vs " + job.b);
      throw;
    }
  }
  // What --dim leaves open the samples fix: the MACs of both, and the shapes latency is timed at.
  std::map<std::string, int64_t> dims = dims_with_samples(a, job.dims, sample_shapes);
  if (dims != job.dims) {
    if (!r.before.macs.known) r.before.macs = count_macs(ra, dims);
    if (!r.after.macs.known) r.after.macs = count_macs(rb, dims);
  }
  if (job.latency_runs > 0)
    r.latency = {measure_latency(ra, dims, job.latency_runs), measure_latency(rb, dims, job.latency_runs)};
  check_budgets(r, job.budget);
  return r;
}

}  // namespace pare::jobs
