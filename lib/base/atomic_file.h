// Writes a file so that it either appears whole or not at all.
//
// Data goes to "<path>.tmp.<pid>" in the destination folder; commit() flushes,
// checks every write and the close (ENOSPC, EFBIG surface here), then renames.
// If commit() is not reached (an exception, a failed write) the destructor
// removes the temporary file, so no half-written output is ever left behind.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace pare {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string tmp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// Writes `contents` atomically to `path`; throws pare::Error naming the file on failure.
void write_file_atomic(const std::string& path, std::string_view contents);

// Reads a whole file; throws pare::Error (missing, a directory, unreadable).
std::string read_file(const std::string& path);

// Checks, before any work, that `path` could be written: its folder exists and it
// is not a folder. Throws the same errors AtomicFile would. Empty paths pass.
void check_output_path(const std::string& path);

// Throws if `output` resolves to the same file as `input` (same device and inode),
// or to the same path once both are made absolute.
void refuse_overwrite_input(const std::string& input, const std::string& output);

}  // namespace pare
