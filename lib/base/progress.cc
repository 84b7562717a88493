#include "lib/base/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace pare {

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

std::string Progress::render(const std::string& what, size_t done, size_t total, double seconds, int width) {
  double fraction = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  int filled = static_cast<int>(fraction * width);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>';
  bar.resize(static_cast<size_t>(width), ' ');
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  std::string eta = rate > 0 && done < total ? fmt::format(" ETA {:.0f}s", static_cast<double>(total - done) / rate) : "";
  return fmt::format("{} [{}] {}/{} {:.1f}/s{}", what, bar, done, total, rate, eta);
}

void Progress::update(const std::string& what, size_t done, size_t total) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (what != what_) {
    if (drawn_) std::fputc('\n', stderr);
    what_ = what;
    start_ = now;
    drawn_ = false;
  } else if (done < total && now - last_ < std::chrono::milliseconds(100)) {
    return;
  }
  last_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "\r%s\033[K", render(what, done, total, seconds).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (enabled_ && drawn_) std::fputc('\n', stderr);
  drawn_ = false;
  what_.clear();
}

}  // namespace pare
