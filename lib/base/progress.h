// A progress bar for long work (calibration, evaluation, plan builds): count,
// rate and ETA, redrawn in place on stderr. It draws only when stderr is a
// terminal (and the user did not ask for --quiet), so logs, pipes and CI output
// stay clean and results on stdout are never mixed with it.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace pare {

class Progress {
 public:
  // enabled: draw at all (typically !quiet && stderr_is_terminal()).
  explicit Progress(bool enabled) : enabled_(enabled) {}
  ~Progress() { finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Records that `done` of `total` units of `what` are finished; redraws at most
  // 10 times a second, and always for the last unit.
  void update(const std::string& what, size_t done, size_t total);
  // Ends the line (if one was drawn).
  void finish();

  // The line update() would draw (exposed for tests).
  static std::string render(const std::string& what, size_t done, size_t total, double seconds, int width = 30);

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string what_;
  std::chrono::steady_clock::time_point start_{}, last_{};
};

bool stderr_is_terminal();

}  // namespace pare
