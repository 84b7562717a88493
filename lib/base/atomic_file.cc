#include "lib/base/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "lib/base/error.h"
#include "lib/base/strings.h"

namespace pare {
namespace fs = std::filesystem;

namespace {

// A file as the kernel knows it (device and inode, when it exists) and as a path
// (absolute, with symlinks and dot segments resolved as far as they exist).
struct FileId {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  fs::path canonical;
};

FileId file_id(const std::string& path) {
  FileId id;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    id.exists = true;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
  }
  std::error_code ec;
  id.canonical = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return id;
}

bool same_id(const FileId& a, const FileId& b) {
  if (a.exists && b.exists) return a.dev == b.dev && a.ino == b.ino;
  return !a.canonical.empty() && a.canonical == b.canonical;
}

// Where AtomicFile writes before renaming into place.
std::string temp_path_for(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }

// Removes "<path>.tmp.<pid>" files that an earlier pare left when it was killed
// between write and rename (kill -9, a power loss): only files of exactly this
// naming, for this output, whose pid is no running process. A live pid (another
// pare writing the same output right now) keeps its file.
void remove_stale_temp_files(const std::string& path) {
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::string prefix = p.filename().string() + ".tmp.";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    std::optional<int64_t> pid = decimal_digits(std::string_view(name).substr(prefix.size()));
    if (!pid || *pid <= 0 || *pid > INT32_MAX || *pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(*pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    std::error_code rm;
    if (it->is_regular_file(rm)) fs::remove(it->path(), rm);
  }
}

bool& inputs_guarded() {
  static bool on = false;
  return on;
}

std::vector<FileId>& noted_inputs() {
  static std::vector<FileId> inputs;
  return inputs;
}

}  // namespace

void guard_inputs() { inputs_guarded() = true; }

void note_input(const std::string& path) {
  if (!inputs_guarded()) return;
  FileId id = file_id(path);
  for (const FileId& known : noted_inputs())
    if (same_id(known, id)) return;
  noted_inputs().push_back(std::move(id));
}

void check_output_path(const std::string& path) {
  if (path.empty()) return;
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("{}: output folder '{}' does not exist", path, dir.string()));
  if (fs::is_directory(p, ec)) throw Error(fmt::format("{}: is a directory, not a file", path));
  if (fs::exists(p, ec) && !fs::is_regular_file(p, ec))
    throw Error(fmt::format("{}: exists and is not a regular file (a device, pipe or socket); choose another path", path));
  // Creating the temporary file is the one sure test (permissions, root on a
  // read-only or virtual file system such as /proc).
  std::string probe = temp_path_for(path);
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) throw Error(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
  ::close(fd);
  ::unlink(probe.c_str());
  FileId id = file_id(path);
  for (const FileId& input : noted_inputs())
    if (same_id(input, id))
      throw Error(fmt::format("{}: would overwrite an input of this command; choose another path", path));
}

void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& option_and_path) {
  for (size_t i = 0; i < option_and_path.size(); ++i) {
    if (option_and_path[i].second.empty()) continue;
    FileId a = file_id(option_and_path[i].second);
    for (size_t j = 0; j < i; ++j)
      if (!option_and_path[j].second.empty() && same_id(file_id(option_and_path[j].second), a))
        throw Error(fmt::format("{}: named by both {} and {}; each output needs its own file", option_and_path[i].second,
                                option_and_path[j].first, option_and_path[i].first));
  }
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  check_output_path(path_);
  remove_stale_temp_files(path_);
  tmp_ = temp_path_for(path_);
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) throw Error(fmt::format("{}: cannot write: {}", path_, std::strerror(errno)));
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  if (size == 0) return;
  if (std::fwrite(data, 1, size, file_) != size) {
    int err = errno;
    throw Error(fmt::format("{}: write failed: {}", path_, std::strerror(err ? err : EIO)));
  }
}

void AtomicFile::commit() {
  int err = 0;
  if (std::fflush(file_) != 0) err = errno;
  // The data reaches the disk before the name does: without fsync a power loss
  // after the rename can leave an empty or partial file under the final name.
  if (!err && ::fsync(::fileno(file_)) != 0) err = errno;
  if (std::fclose(file_) != 0 && !err) err = errno;
  file_ = nullptr;
  if (err) throw Error(fmt::format("{}: write failed: {}", path_, std::strerror(err)));
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw Error(fmt::format("{}: cannot rename the temporary file into place: {}", path_, std::strerror(errno)));
  committed_ = true;
  // The rename itself is durable once the folder is synced. Best effort: some
  // file systems refuse fsync on a folder, and the file is complete either way.
  fs::path dir = fs::path(path_).parent_path();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::string_view contents) {
  AtomicFile f(path);
  f.write(contents);
  f.commit();
}

int64_t input_file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw Error(fmt::format("{}: no such file", path));
    throw Error(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) throw Error(fmt::format("{}: is a directory, not a file", path));
  if (!S_ISREG(st.st_mode))
    throw Error(fmt::format("{}: is not a regular file (a pipe, device or socket); pare reads only files", path));
  return static_cast<int64_t>(st.st_size);
}

std::string read_file(const std::string& path) {
  input_file_size(path);
  // Opened non-blocking and checked again on the open descriptor: a FIFO swapped
  // in after the stat must not block the open or the read forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw Error(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(fmt::format("{}: is not a regular file (a pipe, device or socket); pare reads only files", path));
  }
  std::string bytes;
  bytes.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw Error(fmt::format("{}: read failed: {}", path, std::strerror(err)));
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return bytes;
}

std::string read_input_file(const std::string& path) {
  std::string bytes = read_file(path);
  note_input(path);
  return bytes;
}

bool same_file(const std::string& a, const std::string& b) { return same_id(file_id(a), file_id(b)); }

void refuse_overwrite_input(const std::string& input, const std::string& output) {
  if (same_file(input, output))
    throw Error(fmt::format("{}: output would overwrite the input model; choose another path", output));
}

}  // namespace pare
