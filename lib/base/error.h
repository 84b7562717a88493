// pare's one user-facing error type.
//
// Errors are built deep (a kernel, the loader) and gain context on the way up
// ("in pass 'prune'", the file name). main() prints them once, as one line:
//   pare: error: <where>: <context>: <problem>
// Every line is passed through printable() here, at the one place messages are
// put together, so no name from a file can forge a second line.
// InternalError marks a broken invariant: a bug in pare, never the user's input.
// CheckFailed is a budget or accuracy check that did not hold (exit code 1).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace pare {

// `text` with every byte that could end a line or steer a terminal written as an
// escape: \n, \r, \t, \e for ESC, \xNN for other C0 controls, DEL, bytes that
// are not UTF-8 and the C1 controls U+0080..U+009F. Printable text (UTF-8
// included) is kept. A name in a model (or a path) can then never turn one
// error line into two, nor recolour a terminal or a CI log. Applying it twice
// changes nothing, so messages built from other messages stay readable.
std::string printable(std::string_view text);

class Error : public std::runtime_error {
 public:
  explicit Error(std::string message) : std::runtime_error(message), message_(std::move(message)) {}

  // Adds an outer frame: "model.onnx" then "in pass 'fold'" print as "model.onnx: in pass 'fold': ...".
  Error& with_context(std::string frame) {
    context_.insert(context_.begin(), std::move(frame));
    full_.clear();
    return *this;
  }
  const std::string& message() const { return message_; }
  const std::vector<std::string>& context() const { return context_; }
  // The whole line without the "pare: error: " prefix.
  const char* what() const noexcept override {
    if (full_.empty()) {
      for (const auto& c : context_) full_ += c + ": ";
      full_ += message_;
      full_ = printable(full_);
    }
    return full_.c_str();
  }

 private:
  std::string message_;
  std::vector<std::string> context_;
  mutable std::string full_;
};

class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message) : Error("internal error (bug in pare): " + message) {}
};

// A check that the user asked for (a budget, an --expect comparison) did not hold.
class CheckFailed : public std::runtime_error {
 public:
  explicit CheckFailed(const std::string& m) : std::runtime_error(printable(m)) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace pare

// An internal invariant: failing it is a bug in pare, reported as an InternalError.
#define PARE_CHECK(cond, ...)                                                     \
  do {                                                                            \
    if (!(cond)) throw ::pare::InternalError(fmt::format(__VA_ARGS__));           \
  } while (0)
