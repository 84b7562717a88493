#include "lib/base/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lib/base/error.h"

namespace pare {
namespace fs = std::filesystem;

void check_output_path(const std::string& path) {
  if (path.empty()) return;
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("{}: output folder '{}' does not exist", path, dir.string()));
  if (fs::is_directory(p, ec)) throw Error(fmt::format("{}: is a directory, not a file", path));
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  check_output_path(path_);
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
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
  if (std::fclose(file_) != 0 && !err) err = errno;
  file_ = nullptr;
  if (err) throw Error(fmt::format("{}: write failed: {}", path_, std::strerror(err)));
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw Error(fmt::format("{}: cannot rename the temporary file into place: {}", path_, std::strerror(errno)));
  committed_ = true;
}

void write_file_atomic(const std::string& path, std::string_view contents) {
  AtomicFile f(path);
  f.write(contents);
  f.commit();
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(fmt::format("{}: no such file", path));
  if (fs::is_directory(path, ec)) throw Error(fmt::format("{}: is a directory, not a file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("{}: read failed", path));
  return ss.str();
}

void refuse_overwrite_input(const std::string& input, const std::string& output) {
  struct stat a {}, b {};
  bool same = ::stat(input.c_str(), &a) == 0 && ::stat(output.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
              a.st_ino == b.st_ino;
  std::error_code ec;
  same = same || fs::weakly_canonical(input, ec) == fs::weakly_canonical(output, ec);
  if (same) throw Error(fmt::format("{}: output would overwrite the input model; choose another path", output));
}

}  // namespace pare
