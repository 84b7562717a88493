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
  count_macs_at_samples(r.before, ra, job.dims, sample_shapes);
  count_macs_at_samples(r.after, rb, job.dims, sample_shapes);
  if (job.latency_runs > 0)
    r.latency = {measure_latency(ra, job.dims, job.latency_runs), measure_latency(rb, job.dims, job.latency_runs)};
  check_budgets(r, job.budget);
  return r;
}

}  // namespace pare::jobs
