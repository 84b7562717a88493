// Rendered text-line images (stb_truetype + DejaVu Sans) for a labeled test set of
// the PP-OCR text-direction classifier: input 3x48x192, label 0 = upright text,
// label 1 = text rotated by 180 degrees.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pare::testing {

// Debian's fonts-dejavu-core.
inline constexpr const char* kDejaVuSans = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

struct TextLineStyle {
  int width = 192, height = 48;
  float font_px = 30;            // glyph height in pixels (stbtt_ScaleForPixelHeight)
  int x_offset = 4;              // left margin
  uint8_t ink = 0, paper = 255;  // grey levels
  bool rotate180 = false;
};

// Renders `text` (ASCII; other bytes are drawn as '?') as a grey line, dark ink on
// light paper, left aligned and vertically centred, clipped at the right edge.
// Returns RGB bytes (width*height*3, row-major, 3 equal channels). With rotate180
// the whole image is turned by 180 degrees (pixel order reversed).
// Throws std::runtime_error if the font cannot be read.
std::vector<uint8_t> render_text_line(const std::string& text, const TextLineStyle& style,
                                      const std::string& font_path = kDejaVuSans);

// Writes an 8-bit RGB PNG; throws std::runtime_error on failure.
void write_png(const std::string& path, const std::vector<uint8_t>& rgb, int width, int height);

// Deterministic pseudo-random text of letters, digits and single spaces (no leading or
// trailing space), length in [min_len, max_len], from a seed (splitmix64: the same on
// every platform and standard library).
std::string random_words(uint64_t seed, int min_len, int max_len);

// Writes `count` labeled 192x48 samples into `dir` (created if needed): img_0000.png,
// img_0001.png, ... and labels.txt with one line "img_0000.png 0" per image. Even
// indices are upright (label 0), odd ones rotated by 180 degrees (label 1), so the set
// is balanced; text, font_px (24..34), ink, paper and margin vary with the seed.
// Returns the labels in file order.
std::vector<int> write_text_direction_set(const std::string& dir, int count, uint64_t seed,
                                          const std::string& font_path = kDejaVuSans);

// Writes `count` text pages into `dir` (page_000.png, ...): `side` x `side`
// RGB, light paper with up to 10 dark lines of random words at varying sizes
// and indents, for the PP-OCR text detector (tune and quantization figures).
void write_text_pages(const std::string& dir, int count, uint64_t seed, int side = 640,
                      const std::string& font_path = kDejaVuSans);

}  // namespace pare::testing
