#include "jobs/batch.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "formats/onnx/read.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/settings.h"
#include "lib/base/sha256.h"
#include "lib/base/strings.h"
#include "lib/runtime/arena.h"
#include "lib/runtime/session.h"

namespace pare::jobs {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kJournalVersion = 1;
const char* const kJournalName = "journal.json";

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// One model of the job, compiled once; all share one arena.
struct Worker {
  std::string path;
  std::string name;  // file stem: names its results folder and JSON-lines file
  std::string sha256;
  ir::Model model;
  std::unique_ptr<rt::Session> session;
  formats::ImageOptions images;  // the job's, with this model's size and layout filled in
  std::string results_dir, jsonl_path;
};

// The size and layout of the image a model takes, from its one input's shape
// ([1,3,H,W] or [1,H,W,3], symbolic dims sized by `dims`).
formats::ImageOptions image_options_for(const Worker& w, const BatchJob& job) {
  formats::ImageOptions o = job.images;
  if (o.configured()) return o;
  const auto& inputs = w.session->inputs();
  if (inputs.size() != 1 || !inputs[0]->shape || inputs[0]->shape->rank() != 4) return o;  // checked per image
  std::vector<int64_t> d;
  for (const ir::Dim& dim : inputs[0]->shape->dims) {
    if (dim.is_known()) d.push_back(dim.value);
    else if (auto it = job.dims.find(dim.symbol); !dim.symbol.empty() && it != job.dims.end()) d.push_back(it->second);
    else d.push_back(-1);
  }
  if (d[1] == 3 && d[2] > 0 && d[3] > 0) {
    o.height = d[2], o.width = d[3], o.nhwc = false;
  } else if (d[3] == 3 && d[1] > 0 && d[2] > 0) {
    o.height = d[1], o.width = d[2], o.nhwc = true;
  } else {
    throw Error(fmt::format("{}: input '{}' has shape {}: give its image size (or {} sizes for its symbolic dims)",
                            w.path, inputs[0]->name(), inputs[0]->shape->str(), spell(Setting::kDim)));
  }
  return o;
}

std::vector<Worker> load_workers(const BatchJob& job) {
  std::vector<Worker> workers;
  std::set<std::string> names;
  for (const std::string& path : job.models) {
    Worker w;
    w.path = path;
    w.name = fs::path(path).stem().string();
    if (!names.insert(w.name).second)
      throw Error(fmt::format("{}: two models are named '{}'; their results would share a folder", path, w.name));
    // Read once: the bytes hashed for the journal are the bytes parsed.
    std::string bytes = read_input_file(path);
    w.sha256 = sha256_hex(bytes);
    if (auto it = job.recorded_sha256.find(path); it != job.recorded_sha256.end() && it->second != w.sha256)
      throw Error(fmt::format("{}: the file is not the one its pare build manifest records (sha256 {}, recorded {}); "
                              "run pare build again", path, w.sha256, it->second));
    std::string dir = fs::path(path).parent_path().string();
    w.model = formats::onnx::read_model_from_bytes(bytes, path, dir.empty() ? "." : dir);
    workers.push_back(std::move(w));
  }
  return workers;
}

// What must match for a journal to be continued: the models' bytes, the inputs
// and every option that changes a result. Batch size, order, threads and
// throttling change only when results appear, so a restart may change them.
std::string job_fingerprint(const std::vector<Worker>& workers, const std::vector<formats::SampleEntry>& entries,
                            const BatchJob& job) {
  nlohmann::json f;
  for (const Worker& w : workers) f["models"][w.name] = w.sha256;
  for (const auto& e : entries) f["inputs"].push_back(e.name);
  f["dims"] = job.dims;
  f["image"] = {{"width", job.images.width}, {"height", job.images.height}, {"mean", job.images.mean},
                {"std", job.images.std}, {"nhwc", job.images.nhwc}, {"bgr", job.images.bgr},
                {"unit", job.images.scale_to_unit}};
  f["top_k"] = job.top_k;
  return sha256_hex(f.dump());
}

struct Journal {
  std::string fingerprint;
  size_t inputs = 0;
  size_t done = 0;                            // inputs whose results every model has committed
  std::map<std::string, int64_t> jsonl_bytes;  // committed length of each model's JSON lines
};

std::string journal_text(const Journal& j) {
  nlohmann::json o = {{"pare_batch", kJournalVersion}, {"fingerprint", j.fingerprint}, {"inputs", j.inputs},
                      {"done", j.done},         {"jsonl_bytes", j.jsonl_bytes}};
  return o.dump(1) + "\n";
}

// The journal of an earlier run into `out`, if any; refused when it belongs to another job.
std::optional<Journal> read_journal(const std::string& path, const std::string& fingerprint) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  Journal j;
  try {
    nlohmann::json o = nlohmann::json::parse(read_file(path));
    if (o.at("pare_batch").get<int>() != kJournalVersion) throw Error("written by another version of pare-run");
    j.fingerprint = o.at("fingerprint").get<std::string>();
    j.inputs = o.at("inputs").get<size_t>();
    j.done = o.at("done").get<size_t>();
    j.jsonl_bytes = o.at("jsonl_bytes").get<std::map<std::string, int64_t>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not a journal of pare-run batch ({})", path, e.what()));
  } catch (Error& e) {
    throw e.with_context(path);
  }
  if (j.fingerprint != fingerprint || j.done > j.inputs)
    throw Error(fmt::format("{}: left by a run with other models, inputs or options; remove the folder or choose "
                            "another output folder", path));
  return j;
}

bool pid_alive(long pid) { return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// A kill -9 between writing a temporary file and renaming it leaves
// "<name>.tmp.<pid>" behind; those of dead processes are removed so the folder
// ends as an uninterrupted run leaves it.
bool is_stale_temporary(const fs::path& p) {
  std::string n = p.filename().string();
  size_t at = n.rfind(".tmp.");
  if (at == std::string::npos) return false;
  std::optional<int64_t> pid = decimal_digits(n.substr(at + 5));
  return pid && !pid_alive(static_cast<long>(*pid));
}

void remove_stale_temporaries(const std::string& out) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(out, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && is_stale_temporary(it->path())) fs::remove(it->path(), ec);
}

// A folder a run may start in: empty, or holding only the temporary journal of
// a run killed before its first journal was in place.
bool is_fresh_folder(const std::string& out) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out, ec)) {
    std::string n = e.path().filename().string();
    if (!starts_with(n, std::string(kJournalName) + ".tmp.") || !is_stale_temporary(e.path())) return false;
  }
  return !ec;
}

// Cuts a JSON-lines file back to its committed length (lines an interrupted
// batch appended), creating it empty when absent.
void truncate_to(const std::string& path, int64_t bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  if (fd < 0) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0;
  if (ok && st.st_size < bytes) {
    ::close(fd);
    throw Error(fmt::format("{}: shorter than its journal says ({} < {} bytes); it was changed by hand", path,
                            st.st_size, bytes));
  }
  ok = ok && ::ftruncate(fd, bytes) == 0;
  ::close(fd);
  if (!ok) throw Error(fmt::format("{}: cannot truncate: {}", path, std::strerror(errno)));
}

void append_durably(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
  if (fd < 0) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      throw Error(fmt::format("{}: write failed: {}", path, std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) throw Error(fmt::format("{}: cannot flush to disk: {}", path, std::strerror(errno)));
}

// An output "looks like scores" when it is float with one row of at least two
// values ([C], [1,C], [1,1,C]...): a classifier's logits or probabilities.
bool looks_like_scores(const ir::Tensor& t) {
  if (t.dtype() != ir::DataType::kFloat || t.rank() == 0 || t.dims().back() < 2) return false;
  return t.numel() == t.dims().back();
}

nlohmann::json top_classes(const ir::Tensor& t, int64_t k) {
  auto v = t.span<float>();
  std::vector<int64_t> order(v.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  k = std::min<int64_t>(k, static_cast<int64_t>(order.size()));
  // Ties keep the lower class first, so the line does not depend on the sort.
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
    return v[a] > v[b] || (v[a] == v[b] && a < b);
  });
  nlohmann::json top = nlohmann::json::array();
  for (int64_t i = 0; i < k; ++i) {
    float s = v[order[i]];
    top.push_back({order[i], std::isfinite(s) ? nlohmann::json(std::stod(fmt::format("{:.6g}", s))) : nullptr});
  }
  return top;
}

std::string result_line(const std::string& input, const rt::Session& session, const std::vector<ir::Tensor>& outs,
                        int64_t top_k) {
  nlohmann::json line = {{"input", input}};
  nlohmann::json& o = line["outputs"];
  o = nlohmann::json::object();
  for (size_t i = 0; i < outs.size(); ++i) {
    nlohmann::json entry = {{"shape", outs[i].dims()}};
    if (looks_like_scores(outs[i])) entry["top"] = top_classes(outs[i], top_k);
    o[session.output_names()[i]] = std::move(entry);
  }
  return line.dump() + "\n";
}

std::string output_file(const std::string& dir, size_t k) { return dir + "/output_" + std::to_string(k) + ".pb"; }

// The outputs an interrupted batch already wrote whole (each file is atomic),
// or nothing when any is missing.
std::optional<std::vector<ir::Tensor>> read_back(const std::string& dir, size_t count) {
  std::error_code ec;
  for (size_t k = 0; k < count; ++k)
    if (!fs::is_regular_file(output_file(dir, k), ec)) return std::nullopt;
  std::vector<ir::Tensor> outs;
  for (size_t k = 0; k < count; ++k) outs.push_back(formats::read_tensor_pb(output_file(dir, k)).tensor);
  return outs;
}

// Keeps the job within its duty cycle and rate: after each piece of work, sleeps
// until busy time / wall time <= max_duty and inputs / wall time <= max_rate.
class Throttle {
 public:
  explicit Throttle(const BatchJob& job) : duty_(job.max_duty), rate_(job.max_rate), start_(Clock::now()) {}
  // `busy_seconds` of work done on `inputs` inputs (a fraction when one model of several ran).
  void worked(double busy_seconds, double inputs) {
    busy_ += busy_seconds;
    inputs_ += inputs;
    double need = duty_ < 1.0 ? busy_ / duty_ : 0;
    if (rate_ > 0) need = std::max(need, inputs_ / rate_);
    double wait = need - seconds_since(start_);
    if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
  double busy() const { return busy_; }
  double elapsed() const { return seconds_since(start_); }

 private:
  double duty_, rate_;
  Clock::time_point start_;
  double busy_ = 0;
  double inputs_ = 0;
};

// Holds an exclusive lock on the output folder while the job runs: two
// dispatchers writing one folder (an app restarted while its old process is
// still dying) would interleave their results. The kernel drops the lock when
// the process ends, however it ends.
class FolderLock {
 public:
  explicit FolderLock(const std::string& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY)) {
    if (fd_ < 0) throw Error(fmt::format("{}: cannot open: {}", dir, std::strerror(errno)));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw Error(fmt::format("{}: another pare-run batch is writing into this folder", dir));
    }
  }
  ~FolderLock() { ::close(fd_); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_;
};

void check_job(const BatchJob& job) {
  if (job.models.empty()) throw Error("no model given");
  if (job.batch_size < 1) throw Error(fmt::format("batch size {} is below 1", job.batch_size));
  if (!(job.max_duty > 0 && job.max_duty <= 1))
    throw Error(fmt::format("duty {} is outside (0, 1]", job.max_duty));
  if (!(job.max_rate >= 0) || std::isinf(job.max_rate)) throw Error(fmt::format("rate {} is not a rate", job.max_rate));
  if (job.top_k < 1) throw Error(fmt::format("top-k {} is below 1", job.top_k));
}

}  // namespace

BatchReport run_batch(const BatchJob& job) {
  Clock::time_point start = Clock::now();
  check_job(job);
  std::vector<formats::SampleEntry> entries = formats::list_sample_entries(job.inputs);
  std::vector<Worker> workers = load_workers(job);
  auto arena = std::make_shared<rt::Arena>();
  for (Worker& w : workers) {
    rt::SessionOptions options(job.threads);
    options.arena = arena;
    w.session = std::make_unique<rt::Session>(w.model, options);
    if (entries.front().image) w.images = image_options_for(w, job);
    w.results_dir = job.out + "/" + w.name;
    w.jsonl_path = job.out + "/" + w.name + ".jsonl";
  }

  fs::create_directories(job.out);
  FolderLock lock(job.out);
  const std::string journal_path = job.out + "/" + kJournalName;
  Journal journal;
  journal.fingerprint = job_fingerprint(workers, entries, job);
  journal.inputs = entries.size();
  if (auto earlier = read_journal(journal_path, journal.fingerprint)) {
    journal = *earlier;
  } else {
    // Results found without a journal would be read back as this job's: refuse them.
    if (!is_fresh_folder(job.out))
      throw Error(fmt::format("{}: holds files but no {}; results go to an empty or new folder", job.out,
                              kJournalName));
    write_file_atomic(journal_path, journal_text(journal));
  }
  remove_stale_temporaries(job.out);
  for (Worker& w : workers) {
    fs::create_directories(w.results_dir);
    truncate_to(w.jsonl_path, journal.jsonl_bytes[w.name]);
  }

  BatchReport report;
  report.inputs = entries.size();
  report.models = workers.size();
  report.resumed_at = journal.done;
  Throttle throttle(job);
  for (size_t first = journal.done; first < entries.size(); first += static_cast<size_t>(job.batch_size)) {
    size_t last = std::min(entries.size(), first + static_cast<size_t>(job.batch_size));
    for (Worker& w : workers) {
      std::string lines;
      for (size_t i = first; i < last; ++i) {
        Clock::time_point t = Clock::now();
        const auto& e = entries[i];
        std::string dir = w.results_dir + "/" + e.name;
        std::optional<std::vector<ir::Tensor>> outs = read_back(dir, w.session->output_names().size());
        if (outs) {
          ++report.read_back;
        } else {
          try {
            outs = w.session->run(formats::read_sample_entry(e, w.session->input_names(), w.images));
          } catch (Error& err) {
            throw err.with_context(w.path);
          }
          fs::create_directories(dir);
          for (size_t k = 0; k < outs->size(); ++k)
            formats::write_tensor_pb(output_file(dir, k), (*outs)[k], w.session->output_names()[k]);
          ++report.computed;
        }
        lines += result_line(e.name, *w.session, *outs, job.top_k);
        throttle.worked(seconds_since(t), 1.0 / static_cast<double>(workers.size()));
      }
      append_durably(w.jsonl_path, lines);
      journal.jsonl_bytes[w.name] += static_cast<int64_t>(lines.size());
    }
    journal.done = last;
    write_file_atomic(journal_path, journal_text(journal));
    if (job.progress) job.progress(last, entries.size());
  }
  report.busy_seconds = throttle.busy();
  report.work_seconds = throttle.elapsed();
  report.seconds = seconds_since(start);
  return report;
}

void add_manifest_models(const std::string& manifest_path, BatchJob& job) {
  std::string text = read_input_file(manifest_path);
  fs::path dir = fs::path(manifest_path).parent_path();
  try {
    nlohmann::json m = nlohmann::json::parse(text);
    const auto& subtasks = m.at("subtasks");
    if (!subtasks.is_array() || subtasks.empty()) throw Error("it lists no subtasks");
    for (const auto& s : subtasks) {
      std::string file = s.at("file").get<std::string>();
      if (file.empty() || fs::path(file).is_absolute()) throw Error(fmt::format("subtask file '{}' is not a relative path", file));
      std::string path = (dir / file).string();
      job.models.push_back(path);
      job.recorded_sha256[path] = s.at("sha256").get<std::string>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not a pare build manifest: {}", manifest_path, e.what()));
  } catch (Error& e) {
    e.with_context(manifest_path + ": not a pare build manifest");
    throw;
  }
}

}  // namespace pare::jobs
