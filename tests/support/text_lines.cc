#include "tests/support/text_lines.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

// Both stb implementations are compiled here with internal linkage, so that another
// translation unit including them cannot clash at link time.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STBTT_STATIC
#define STB_TRUETYPE_IMPLEMENTATION
#include <stb/stb_truetype.h>
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace pare::testing {
namespace {

struct Font {
  std::vector<unsigned char> data;  // must outlive info
  stbtt_fontinfo info{};
};

// Fonts are read once per path; stbtt_fontinfo is read-only after stbtt_InitFont.
const Font& load_font(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Font>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(path);
  if (it != cache.end()) return *it->second;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read font " + path);
  auto font = std::make_unique<Font>();
  font->data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (font->data.empty()) throw std::runtime_error("empty font file " + path);
  int offset = stbtt_GetFontOffsetForIndex(font->data.data(), 0);
  if (offset < 0 || !stbtt_InitFont(&font->info, font->data.data(), offset))
    throw std::runtime_error("not a TrueType font: " + path);
  return *cache.emplace(path, std::move(font)).first->second;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform-enough integer in [lo, hi] (modulo bias is irrelevant here).
int uniform(uint64_t& state, int lo, int hi) {
  return lo + static_cast<int>(splitmix64(state) % static_cast<uint64_t>(hi - lo + 1));
}

}  // namespace

std::vector<uint8_t> render_text_line(const std::string& text, const TextLineStyle& style,
                                      const std::string& font_path) {
  const int w = style.width, h = style.height;
  if (w <= 0 || h <= 0) throw std::runtime_error("render_text_line: image size must be positive");
  if (!(style.font_px > 0)) throw std::runtime_error("render_text_line: font_px must be positive");
  const stbtt_fontinfo& font = load_font(font_path).info;

  const float scale = stbtt_ScaleForPixelHeight(&font, style.font_px);
  int ascent = 0, descent = 0, line_gap = 0;
  stbtt_GetFontVMetrics(&font, &ascent, &descent, &line_gap);
  // Centre the box from the ascender to the descender line vertically.
  const float box = (ascent - descent) * scale;
  const int baseline = static_cast<int>(std::lround((h - box) / 2 + ascent * scale));

  // Ink coverage 0..255 per pixel; overlapping glyph edges keep the larger coverage.
  std::vector<uint8_t> coverage(static_cast<size_t>(w) * h, 0);
  std::vector<unsigned char> glyph;
  float pen = static_cast<float>(style.x_offset);
  for (size_t i = 0; i < text.size(); ++i) {
    if (pen >= w) break;  // clipped at the right edge
    unsigned char c = static_cast<unsigned char>(text[i]);
    int cp = (c >= 32 && c < 127) ? c : '?';
    int advance = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&font, cp, &advance, &lsb);
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    stbtt_GetCodepointBitmapBox(&font, cp, scale, scale, &x0, &y0, &x1, &y1);
    const int gw = x1 - x0, gh = y1 - y0;
    if (gw > 0 && gh > 0) {
      glyph.assign(static_cast<size_t>(gw) * gh, 0);
      stbtt_MakeCodepointBitmap(&font, glyph.data(), gw, gh, gw, scale, scale, cp);
      const int left = static_cast<int>(std::lround(pen)) + x0, top = baseline + y0;
      for (int gy = 0; gy < gh; ++gy) {
        int y = top + gy;
        if (y < 0 || y >= h) continue;
        for (int gx = 0; gx < gw; ++gx) {
          int x = left + gx;
          if (x < 0 || x >= w) continue;
          uint8_t& dst = coverage[static_cast<size_t>(y) * w + x];
          dst = std::max<uint8_t>(dst, glyph[static_cast<size_t>(gy) * gw + gx]);
        }
      }
    }
    pen += advance * scale;
    if (i + 1 < text.size()) {
      unsigned char n = static_cast<unsigned char>(text[i + 1]);
      pen += scale * stbtt_GetCodepointKernAdvance(&font, cp, (n >= 32 && n < 127) ? n : '?');
    }
  }

  if (style.rotate180) std::reverse(coverage.begin(), coverage.end());

  std::vector<uint8_t> rgb(coverage.size() * 3);
  const int paper = style.paper, ink = style.ink;
  for (size_t p = 0; p < coverage.size(); ++p) {
    int a = coverage[p];
    // Rounded blend paper -> ink (num >= ink * 255 >= 0).
    int num = paper * 255 + (ink - paper) * a;
    auto grey = static_cast<uint8_t>((num + 127) / 255);
    rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = grey;
  }
  return rgb;
}

void write_png(const std::string& path, const std::vector<uint8_t>& rgb, int width, int height) {
  if (width <= 0 || height <= 0 || rgb.size() != static_cast<size_t>(width) * height * 3)
    throw std::runtime_error("write_png: " + std::to_string(rgb.size()) + " bytes do not make a " +
                             std::to_string(width) + "x" + std::to_string(height) + " RGB image");
  if (!stbi_write_png(path.c_str(), width, height, 3, rgb.data(), width * 3))
    throw std::runtime_error("cannot write PNG " + path);
}

std::string random_words(uint64_t seed, int min_len, int max_len) {
  if (min_len < 0 || max_len < min_len) throw std::runtime_error("random_words: bad length range");
  static constexpr char kLower[] = "abcdefghijklmnopqrstuvwxyz";
  static constexpr char kUpper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  static constexpr char kDigits[] = "0123456789";
  uint64_t state = seed;
  const int len = uniform(state, min_len, max_len);
  std::string out;
  out.reserve(len);
  int word_left = uniform(state, 2, 8);
  bool number = uniform(state, 0, 5) == 0;  // some words are numbers
  while (static_cast<int>(out.size()) < len) {
    const bool last = static_cast<int>(out.size()) + 1 == len;
    if (word_left == 0 && !last) {
      out += ' ';
      word_left = uniform(state, 2, 8);
      number = uniform(state, 0, 5) == 0;
      continue;
    }
    if (number) {
      out += kDigits[uniform(state, 0, 9)];
    } else if (out.empty() || out.back() == ' ') {
      // Word starts: sometimes capitalised.
      out += uniform(state, 0, 2) == 0 ? kUpper[uniform(state, 0, 25)] : kLower[uniform(state, 0, 25)];
    } else {
      out += kLower[uniform(state, 0, 25)];
    }
    if (word_left > 0) --word_left;
  }
  return out;
}

std::vector<int> write_text_direction_set(const std::string& dir, int count, uint64_t seed,
                                          const std::string& font_path) {
  if (count < 0) throw std::runtime_error("write_text_direction_set: negative count");
  std::filesystem::create_directories(dir);
  std::vector<int> labels;
  labels.reserve(count);
  std::string listing;
  for (int i = 0; i < count; ++i) {
    uint64_t state = seed ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(i + 1));
    TextLineStyle style;
    style.font_px = static_cast<float>(uniform(state, 24, 34));
    style.x_offset = uniform(state, 2, 10);
    style.ink = static_cast<uint8_t>(uniform(state, 0, 60));
    style.paper = static_cast<uint8_t>(uniform(state, 200, 255));
    const int label = i % 2;  // alternate: balanced
    style.rotate180 = label == 1;
    std::string text = random_words(splitmix64(state), 8, 18);

    char name[32];
    std::snprintf(name, sizeof name, "img_%04d.png", i);
    write_png(dir + "/" + name, render_text_line(text, style, font_path), style.width, style.height);
    listing += std::string(name) + " " + std::to_string(label) + "\n";
    labels.push_back(label);
  }
  std::ofstream out(dir + "/labels.txt", std::ios::binary | std::ios::trunc);
  out << listing;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + dir + "/labels.txt");
  return labels;
}

void write_text_pages(const std::string& dir, int count, uint64_t seed, int side, const std::string& font_path) {
  if (count < 0 || side < 64) throw std::runtime_error("write_text_pages: bad count or side");
  std::filesystem::create_directories(dir);
  for (int p = 0; p < count; ++p) {
    uint64_t state = seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(p + 1));
    uint8_t paper = static_cast<uint8_t>(uniform(state, 215, 255));
    std::vector<uint8_t> page(static_cast<size_t>(side) * side * 3, paper);
    int lines = std::min(10, (side - 20) / 60);
    for (int l = 0; l < lines; ++l) {
      TextLineStyle style;
      style.width = side - 40;
      style.height = 48;
      style.font_px = static_cast<float>(uniform(state, 18, 36));
      style.x_offset = uniform(state, 0, 40);
      style.ink = static_cast<uint8_t>(uniform(state, 0, 70));
      style.paper = paper;
      auto line = render_text_line(random_words(splitmix64(state), 6, 32), style, font_path);
      int y0 = 12 + l * 60 + uniform(state, 0, 8), x0 = 10 + uniform(state, 0, 20);
      for (int y = 0; y < style.height && y0 + y < side; ++y)
        for (int x = 0; x < style.width && x0 + x < side; ++x)
          for (int c = 0; c < 3; ++c)
            page[(static_cast<size_t>(y0 + y) * side + x0 + x) * 3 + c] = line[(static_cast<size_t>(y) * style.width + x) * 3 + c];
    }
    char name[32];
    std::snprintf(name, sizeof name, "page_%03d.png", p);
    write_png(dir + "/" + name, page, side, side);
  }
}

}  // namespace pare::testing
