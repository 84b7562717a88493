// Writes a file so that it either appears whole or not at all.
//
// Data goes to "<path>.tmp.<pid>" in the destination folder; commit() flushes,
// fsyncs, checks every write and the close (ENOSPC, EFBIG surface here), renames,
// then fsyncs the folder, so the output is durable as well as atomic. Stale
// "<path>.tmp.<pid>" files whose process is gone (killed between write and
// rename) are removed when the same output is written again.
// If commit() is not reached (an exception, a failed write) the destructor
// removes the temporary file, so no half-written output is ever left behind.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// Reads a whole file; throws pare::Error (missing, a directory, a pipe, device
// or socket, unreadable). Never blocks on a FIFO: the type is checked first.
std::string read_file(const std::string& path);
// The size of a file that is to be read, without reading it; the same errors as
// read_file. Loaders with a size limit check it before reading anything.
int64_t input_file_size(const std::string& path);
// read_file for a file that is an input of the command (note_input, then read).
std::string read_input_file(const std::string& path);

// Checks, before any work, that `path` could be written: its folder exists and is
// writable, it is not a folder or another non-regular file (a device, a pipe),
// and it is none of the inputs noted so far. Throws the same errors AtomicFile
// would. Empty paths pass.
void check_output_path(const std::string& path);

// Notes a file this process reads as an input (a model, its external data, a
// sample, labels, a budget or plan, golden outputs): from then on AtomicFile
// refuses to write over it, however the output path spells it (./m.onnx, a
// symlink). The loaders call it, so every command is covered. It does nothing
// until guard_inputs() is called: pare's main() does, since there one process is
// one command; library users and tests that rewrite files they read do not.
void note_input(const std::string& path);
void guard_inputs();

// Throws if two of `paths` (empty ones aside) name the same file: two options of
// one command would otherwise overwrite each other's output.
void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& option_and_path);

// True when `a` and `b` name one file or folder: the same device and inode when
// both exist, else the same path once absolute with symlinks and dots resolved.
bool same_file(const std::string& a, const std::string& b);

// Throws if `output` is the same file as `input` (same_file).
void refuse_overwrite_input(const std::string& input, const std::string& output);

}  // namespace pare
