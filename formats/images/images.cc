// PNG/JPEG decoding with Debian's stb headers (stb_image, stb_image_resize).
//
// The file is read with pare's read_file rather than stbi_load's own fopen so a
// missing or unreadable file gets the same message as every other input file;
// stb then only decodes bytes. Resizing works on 8-bit pixels, as PIL and
// OpenCV pipelines usually do, so values stay within 0..255 (no filter ringing
// past the ends) and match what the model saw in training more closely.
#include "formats/images/images.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"

// Only the two formats the CLI promises: less decoder code to trust, and a BMP
// or GIF renamed to .png is refused instead of half-working.
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#pragma GCC diagnostic pop

namespace pare::formats {
namespace {

constexpr int kChannels = 3;
// Far above any model input, and small enough that stb_image_resize's int sizes cannot overflow.
constexpr int64_t kMaxSide = 16384;

std::string trimmed(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// The text as a positive integer, or -1 when it is anything else (signs, spaces, junk after the digits).
int64_t parse_positive(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return -1;
  return v;
}

// One value per output channel, from a list of 1 (shared) or 3 values.
std::array<float, kChannels> per_channel(const std::vector<float>& values, const char* what) {
  if (values.size() == 1) return {values[0], values[0], values[0]};
  if (values.size() == kChannels) return {values[0], values[1], values[2]};
  fail("{} has {} values; give 1 or {}", what, values.size(), kChannels);
}

struct StbFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};
using StbPixels = std::unique_ptr<unsigned char, StbFree>;

// Interleaved 8-bit RGB pixels, row-major.
struct Rgb8 {
  int width = 0, height = 0;
  std::vector<unsigned char> pixels;
};

// stb_image grows its buffer to a PNG chunk's declared length before it reads
// the chunk, so a 137-byte file declaring a 1.7 GB IDAT made it allocate that
// (found by pare's image_fuzz). Every chunk must fit in the file. And an empty
// IDAT chunk (valid PNG) first in the file made stb copy zero bytes to its null
// buffer, undefined behaviour (image_fuzz under UBSan): such chunks hold no data,
// so they are dropped; the bytes without them are returned (nullopt: as they are).
std::optional<std::string> checked_png(const std::string& bytes) {
  static const std::string kSignature = "\x89PNG\r\n\x1a\n";
  if (bytes.compare(0, kSignature.size(), kSignature) != 0) return std::nullopt;
  std::optional<std::string> kept;
  size_t at = kSignature.size();
  while (at + 8 <= bytes.size()) {
    auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + k])); };
    uint64_t length = (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
    std::string type = bytes.substr(at + 4, 4);
    if (length + 12 > bytes.size() - at)
      fail("not a PNG or JPEG image that can be decoded (PNG chunk '{}' at byte {} declares {} bytes; {} are left: "
           "truncated or corrupt)", type, at, length, bytes.size() - at - 8);
    bool empty_data = type == "IDAT" && length == 0;
    if (empty_data && !kept) kept = bytes.substr(0, at);
    if (kept && !empty_data) kept->append(bytes, at, 12 + length);
    at += 12 + length;
    if (type == "IEND") break;
  }
  if (kept) kept->append(bytes, at, std::string::npos);
  return kept;
}

// Debian's stb_image (2022) builds a JPEG Huffman table from the counts of a DHT
// segment without checking that they add up to at most 256 symbols, and writes
// past its arrays when they do not (found by image_fuzz under UBSan; upstream
// checks since). The segments stb would read are walked here as stb walks them,
// and a table with more than 256 symbols is refused before decoding.
void check_jpeg_huffman_tables(const std::string& bytes) {
  size_t n = bytes.size(), at = 0;
  auto byte = [&](size_t k) -> int { return k < n ? static_cast<unsigned char>(bytes[k]) : 0; };
  auto marker = [&]() -> int {  // the next marker, as stb finds it: bytes before a 0xFF (padding) and fill bytes skipped
    while (at < n && byte(at) != 0xFF) ++at;
    while (at < n && byte(at) == 0xFF) ++at;
    return at < n ? byte(at++) : -1;
  };
  if (byte(0) != 0xFF || marker() != 0xD8) return;  // not a JPEG: stb wants its start-of-image marker first
  for (int m = marker(); m >= 0 && m != 0xD9; m = marker()) {
    if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) continue;  // no length
    size_t length = (static_cast<size_t>(byte(at)) << 8) | byte(at + 1);
    if (length < 2) return;  // stb refuses the file
    size_t end = at + length, p = at + 2;
    if (m == 0xC4) {  // DHT: tables while the segment lasts, as stb reads them
      while (p < end) {
        int symbols = 0;
        for (int i = 0; i < 16; ++i) symbols += byte(p + 1 + i);
        if (symbols > 256)
          fail("not a PNG or JPEG image that can be decoded (a JPEG Huffman table at byte {} declares {} symbols; "
               "at most 256)", p, symbols);
        p += 17 + symbols;
      }
      if (p != end) return;  // stb refuses a segment its tables overrun
    }
    at = end;
    if (m == 0xDA)  // entropy-coded data follows, to the next marker (0xFF not followed by 0 or a restart)
      while (at + 1 < n && !(byte(at) == 0xFF && byte(at + 1) != 0 && byte(at + 1) != 0xFF &&
                            !(byte(at + 1) >= 0xD0 && byte(at + 1) <= 0xD7)))
        ++at;
  }
}

// Decoding holds the whole image (and stb's work buffers) in memory: 64 megapixels
// covers every phone camera (12 to 48 MP) and bounds a declared size before decoding.
constexpr int64_t kMaxPixels = int64_t{64} << 20;

Rgb8 decode(const std::string& bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) fail("image file is too large to decode");
  check_jpeg_huffman_tables(bytes);
  std::optional<std::string> png = checked_png(bytes);
  const std::string& in = png ? *png : bytes;
  int w = 0, h = 0, channels_in_file = 0;
  if (stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(in.data()), static_cast<int>(in.size()), &w, &h,
                            &channels_in_file) &&
      int64_t{w} * h > kMaxPixels)
    fail("the image is {}x{} pixels; pare decodes images of at most {} megapixels", w, h, kMaxPixels >> 20);
  // Forcing 3 channels makes stb expand grayscale and drop alpha for us.
  StbPixels data(stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(in.data()), static_cast<int>(in.size()), &w,
                                       &h, &channels_in_file, kChannels));
  if (!data) fail("not a PNG or JPEG image that can be decoded (stb: {})", stbi_failure_reason());
  Rgb8 img{w, h, {}};
  img.pixels.assign(data.get(), data.get() + static_cast<size_t>(w) * h * kChannels);
  return img;
}

Rgb8 resized(const Rgb8& src, int width, int height) {
  if (src.width == width && src.height == height) return src;
  Rgb8 out{width, height, std::vector<unsigned char>(static_cast<size_t>(width) * height * kChannels)};
  if (!stbir_resize_uint8(src.pixels.data(), src.width, src.height, 0, out.pixels.data(), width, height, 0, kChannels))
    fail("could not resize the {}x{} image to {}x{}", src.width, src.height, width, height);
  return out;
}

ir::Tensor to_tensor(const Rgb8& img, const ImageOptions& o, const std::array<float, kChannels>& mean,
                     const std::array<float, kChannels>& std) {
  const size_t w = img.width, h = img.height;
  std::vector<float> values(w * h * kChannels);
  for (size_t y = 0; y < h; ++y) {
    for (size_t x = 0; x < w; ++x) {
      const unsigned char* px = &img.pixels[(y * w + x) * kChannels];
      for (size_t c = 0; c < kChannels; ++c) {
        float p = px[o.bgr ? kChannels - 1 - c : c];
        float v = ((o.scale_to_unit ? p / 255.f : p) - mean[c]) / std[c];
        values[o.nhwc ? (y * w + x) * kChannels + c : (c * h + y) * w + x] = v;
      }
    }
  }
  std::vector<int64_t> dims = o.nhwc ? std::vector<int64_t>{1, int64_t(h), int64_t(w), kChannels}
                                     : std::vector<int64_t>{1, kChannels, int64_t(h), int64_t(w)};
  return ir::Tensor::from<float>(std::move(dims), values);
}

}  // namespace

void parse_image_size(const std::string& option, const std::string& text, ImageOptions& o) {
  std::string t = trimmed(text);
  size_t x = t.find_first_of("xX");
  int64_t w = x == std::string::npos ? -1 : parse_positive(t.substr(0, x));
  int64_t h = x == std::string::npos ? -1 : parse_positive(t.substr(x + 1));
  if (w <= 0 || h <= 0) fail("{}: expected WxH such as 224x224, got '{}'", option, text);
  if (w > kMaxSide || h > kMaxSide) fail("{}: {} is too large; at most {} pixels a side", option, text, kMaxSide);
  o.width = w;
  o.height = h;
}

std::vector<float> parse_float_list(const std::string& option, const std::string& text) {
  std::vector<float> out;
  for (const std::string& raw : split(text, ',')) {
    std::string item = trimmed(raw);
    float v = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    // from_chars accepts "nan" and "inf", which would silently poison every input value.
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || !std::isfinite(v))
      fail("{}: expected numbers separated by commas such as 0.485,0.456,0.406, got '{}'", option, text);
    out.push_back(v);
  }
  return out;
}

bool is_image_file(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

ir::Tensor read_image(const std::string& path, const ImageOptions& o) {
  std::string bytes = read_input_file(path);  // its errors already name the file
  try {
    // Options first: a wrong --mean should not wait for a large decode to be reported.
    auto mean = per_channel(o.mean, "mean");
    auto std = per_channel(o.std, "std");
    for (int c = 0; c < kChannels; ++c)
      if (std[c] == 0.f) fail("std value for channel {} is 0; it divides every pixel, so give a non-zero value", c);
    if ((o.width > 0) != (o.height > 0) || o.width > kMaxSide || o.height > kMaxSide)
      fail("image size {}x{} is not usable; give both sides, each 1 to {}", o.width, o.height, kMaxSide);
    Rgb8 img = decode(bytes);
    if (o.width > 0) img = resized(img, static_cast<int>(o.width), static_cast<int>(o.height));
    return to_tensor(img, o, mean, std);
  } catch (Error& e) {
    e.with_context(path);
    throw;
  }
}

}  // namespace pare::formats
