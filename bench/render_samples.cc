// Writes the rendered sample sets the docs' figures are measured on
// (scripts/tune_results.sh): labeled text-direction lines, or text pages.
//   pare_render_samples lines DIR COUNT SEED
//   pare_render_samples pages DIR COUNT SEED [SIDE]
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

#include "tests/support/text_lines.h"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s lines|pages DIR COUNT SEED [SIDE]\n", argv[0]);
    return 2;
  }
  try {
    std::string what = argv[1], dir = argv[2];
    int count = std::atoi(argv[3]);
    uint64_t seed = std::strtoull(argv[4], nullptr, 10);
    if (what == "lines") pare::testing::write_text_direction_set(dir, count, seed);
    else if (what == "pages") pare::testing::write_text_pages(dir, count, seed, argc > 5 ? std::atoi(argv[5]) : 640);
    else throw std::runtime_error("unknown set '" + what + "' (lines or pages)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pare_render_samples: %s\n", e.what());
    return 2;
  }
  return 0;
}
