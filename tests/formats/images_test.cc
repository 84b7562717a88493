// Image inputs: exact pixel values in both layouts and channel orders,
// mean/std arithmetic, grayscale, resizing, JPEG, bad files and option text.
#include <gtest/gtest.h>

#include <cstring>

#include <cmath>
#include <string>
#include <vector>

#include "formats/images/images.h"
#include "lib/base/atomic_file.h"
#include "tests/support/models.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace pare::formats {
namespace {

constexpr int kW = 4, kH = 2;

// A 4x2 RGB image whose every byte differs, so a swapped channel, row or
// column shows up as a wrong value: R = 10*i, G = 10*i + 1, B = 10*i + 2 for pixel i.
std::vector<unsigned char> test_pixels() {
  std::vector<unsigned char> px;
  for (int i = 0; i < kW * kH; ++i)
    for (int c = 0; c < 3; ++c) px.push_back(static_cast<unsigned char>(10 * i + c));
  return px;
}

std::string write_png(const std::string& path, int w, int h, int comp, const std::vector<unsigned char>& px) {
  EXPECT_TRUE(stbi_write_png(path.c_str(), w, h, comp, px.data(), w * comp)) << path;
  return path;
}

std::string test_png() { return write_png(testing::temp_dir() + "/a.png", kW, kH, 3, test_pixels()); }

// Value of pixel (x, y), source channel c, as stored in the test image.
float source(int x, int y, int c) { return static_cast<float>(10 * (y * kW + x) + c); }

ImageOptions defaults() { return ImageOptions{}; }

std::string error_of(const std::string& path, const ImageOptions& o) {
  try {
    read_image(path, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Images, NchwValuesAreExact) {
  ir::Tensor t = read_image(test_png(), defaults());
  ASSERT_EQ(t.dims(), (std::vector<int64_t>{1, 3, kH, kW}));
  auto v = t.span<float>();
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < kH; ++y)
      for (int x = 0; x < kW; ++x)
        EXPECT_FLOAT_EQ(v[(c * kH + y) * kW + x], source(x, y, c) / 255.f) << c << "," << y << "," << x;
}

TEST(Images, NhwcValuesAreExact) {
  ImageOptions o;
  o.nhwc = true;
  ir::Tensor t = read_image(test_png(), o);
  ASSERT_EQ(t.dims(), (std::vector<int64_t>{1, kH, kW, 3}));
  auto v = t.span<float>();
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x)
      for (int c = 0; c < 3; ++c)
        EXPECT_FLOAT_EQ(v[(y * kW + x) * 3 + c], source(x, y, c) / 255.f) << y << "," << x << "," << c;
}

TEST(Images, BgrSwapsRedAndBlue) {
  ImageOptions o;
  o.bgr = true;
  o.scale_to_unit = false;
  ir::Tensor t = read_image(test_png(), o);
  auto v = t.span<float>();
  const int plane = kW * kH;
  // Pixel (1, 1) is pixel 5: R=50, G=51, B=52.
  EXPECT_FLOAT_EQ(v[0 * plane + kW + 1], 52.f);
  EXPECT_FLOAT_EQ(v[1 * plane + kW + 1], 51.f);
  EXPECT_FLOAT_EQ(v[2 * plane + kW + 1], 50.f);
}

TEST(Images, MeanAndStdArePerOutputChannel) {
  ImageOptions o;
  o.mean = {0.5f, 0.25f, 0.125f};
  o.std = {2.f, 4.f, 0.5f};
  o.bgr = true;  // mean/std follow the output order, so channel 0 is blue here
  ir::Tensor t = read_image(test_png(), o);
  auto v = t.span<float>();
  const int plane = kW * kH;
  for (int i = 0; i < plane; ++i) {
    EXPECT_FLOAT_EQ(v[0 * plane + i], ((10 * i + 2) / 255.f - 0.5f) / 2.f);
    EXPECT_FLOAT_EQ(v[1 * plane + i], ((10 * i + 1) / 255.f - 0.25f) / 4.f);
    EXPECT_FLOAT_EQ(v[2 * plane + i], ((10 * i + 0) / 255.f - 0.125f) / 0.5f);
  }
  // One value is shared by all channels.
  ImageOptions shared;
  shared.mean = {1.f};
  shared.std = {0.5f};
  shared.scale_to_unit = false;
  ir::Tensor shared_t = read_image(test_png(), shared);
  auto s = shared_t.span<float>();
  EXPECT_FLOAT_EQ(s[2 * plane + 3], (source(3, 0, 2) - 1.f) / 0.5f);
}

TEST(Images, BadMeanOrStdIsAnErrorNamingTheFile) {
  std::string png = test_png();
  ImageOptions o;
  o.mean = {0.1f, 0.2f};
  std::string e = error_of(png, o);
  EXPECT_NE(e.find("a.png"), std::string::npos) << e;
  EXPECT_NE(e.find("mean has 2 values; give 1 or 3"), std::string::npos) << e;
  ImageOptions zero;
  zero.std = {1.f, 0.f, 1.f};
  e = error_of(png, zero);
  EXPECT_NE(e.find("a.png"), std::string::npos) << e;
  EXPECT_NE(e.find("std"), std::string::npos) << e;
}

TEST(Images, GrayscaleBecomesThreeEqualChannels) {
  std::vector<unsigned char> gray = {0, 40, 80, 120, 160, 200, 240, 255};
  std::string png = write_png(testing::temp_dir() + "/g.png", kW, kH, 1, gray);
  ImageOptions o;
  o.scale_to_unit = false;
  ir::Tensor t = read_image(png, o);
  ASSERT_EQ(t.dims(), (std::vector<int64_t>{1, 3, kH, kW}));
  auto v = t.span<float>();
  const int plane = kW * kH;
  for (int i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(v[c * plane + i], gray[i]) << i << "," << c;
}

TEST(Images, AlphaIsDropped) {
  std::vector<unsigned char> rgba;
  for (int i = 0; i < kW * kH; ++i) rgba.insert(rgba.end(), {100, 150, 200, static_cast<unsigned char>(i * 30)});
  std::string png = write_png(testing::temp_dir() + "/rgba.png", kW, kH, 4, rgba);
  ImageOptions o;
  o.scale_to_unit = false;
  o.nhwc = true;
  ir::Tensor t = read_image(png, o);
  ASSERT_EQ(t.dims(), (std::vector<int64_t>{1, kH, kW, 3}));
  auto v = t.span<float>();
  EXPECT_FLOAT_EQ(v[3 * 3 + 0], 100.f);
  EXPECT_FLOAT_EQ(v[3 * 3 + 1], 150.f);
  EXPECT_FLOAT_EQ(v[3 * 3 + 2], 200.f);
}

TEST(Images, ResizeGivesTheAskedShapeAndKeepsUniformColour) {
  std::vector<unsigned char> px;
  for (int i = 0; i < 8 * 6; ++i) px.insert(px.end(), {30, 120, 250});
  std::string png = write_png(testing::temp_dir() + "/u.png", 8, 6, 3, px);
  const float expected[3] = {30.f, 120.f, 250.f};
  for (auto [w, h] : {std::pair{5, 3}, std::pair{19, 11}}) {  // down and up
    ImageOptions o;
    parse_image_size("--image-size", std::to_string(w) + "x" + std::to_string(h), o);
    o.scale_to_unit = false;
    ir::Tensor t = read_image(png, o);
    ASSERT_EQ(t.dims(), (std::vector<int64_t>{1, 3, h, w}));
    auto v = t.span<float>();
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < w * h; ++i) ASSERT_FLOAT_EQ(v[c * w * h + i], expected[c]) << w << "x" << h << " c" << c;
  }
}

TEST(Images, ResizeToTheOwnSizeKeepsExactValues) {
  ImageOptions o;
  parse_image_size("--image-size", "4x2", o);
  o.scale_to_unit = false;
  ir::Tensor t = read_image(test_png(), o);
  auto v = t.span<float>();
  EXPECT_FLOAT_EQ(v[kW * kH + kW + 2], source(2, 1, 1));
}

TEST(Images, JpegDecodesCloseToItsColour) {
  std::vector<unsigned char> px;
  for (int i = 0; i < 16 * 16; ++i) px.insert(px.end(), {200, 100, 50});
  std::string jpg = testing::temp_dir() + "/photo.JPG";
  ASSERT_TRUE(stbi_write_jpg(jpg.c_str(), 16, 16, 3, px.data(), 95));
  ir::Tensor t = read_image(jpg, defaults());
  ASSERT_EQ(t.dims(), (std::vector<int64_t>{1, 3, 16, 16}));
  auto v = t.span<float>();
  const float expected[3] = {200 / 255.f, 100 / 255.f, 50 / 255.f};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 16 * 16; ++i) ASSERT_NEAR(v[c * 256 + i], expected[c], 3 / 255.f) << "c" << c << " i" << i;
}

TEST(Images, UndecodableFilesAreErrorsNamingTheFile) {
  std::string dir = testing::temp_dir();
  std::string bytes = read_file(test_png());
  write_file_atomic(dir + "/cut.png", bytes.substr(0, bytes.size() / 2));
  std::string e = error_of(dir + "/cut.png", defaults());
  EXPECT_NE(e.find("cut.png"), std::string::npos) << e;
  EXPECT_NE(e.find("not a PNG or JPEG"), std::string::npos) << e;

  write_file_atomic(dir + "/x.png", "this is not an image\n");
  e = error_of(dir + "/x.png", defaults());
  EXPECT_NE(e.find("x.png"), std::string::npos) << e;
  EXPECT_NE(e.find("not a PNG or JPEG"), std::string::npos) << e;

  e = error_of(dir + "/missing.png", defaults());
  EXPECT_NE(e.find("missing.png"), std::string::npos) << e;
}

// A copy of `file` (in a fresh folder, named `name`) whose bytes from where
// `marker` starts, moved by `offset`, are `patch`; the copy's path.
std::string patched(const std::string& file, const std::string& marker, int offset, const std::string& patch,
                    const std::string& name) {
  std::string bytes = read_file(file);
  size_t at = bytes.find(marker);
  EXPECT_NE(at, std::string::npos) << marker << " not in " << file;
  if (at != std::string::npos) bytes.replace(at + offset, patch.size(), patch);
  std::string path = testing::temp_dir() + "/" + name;
  write_file_atomic(path, bytes);
  return path;
}

// A PNG chunk declaring more bytes than the file holds made stb_image allocate
// what it declared (1.7 GB from 137 bytes; image_fuzz): refused before decoding.
TEST(Images, APngChunkLongerThanTheFileIsRefusedBeforeDecoding) {
  // The IDAT's length: 0x6700004f bytes.
  std::string e = error_of(patched(test_png(), "IDAT", -4, std::string("\x67\x00\x00\x4f", 4), "long.png"), defaults());
  EXPECT_NE(e.find("long.png"), std::string::npos) << e;
  EXPECT_NE(e.find("PNG chunk 'IDAT' at byte"), std::string::npos) << e;
  EXPECT_NE(e.find("declares 1728053327 bytes"), std::string::npos) << e;
}

// An empty IDAT chunk first (valid PNG) made stb copy zero bytes to a null
// buffer, undefined behaviour (image_fuzz under UBSan): it is dropped, and the
// image decodes to the same pixels as without it.
TEST(Images, AnEmptyIdatChunkDecodesAsWithoutIt) {
  std::string dir = testing::temp_dir();
  std::string bytes = read_file(test_png());
  size_t idat = bytes.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  // length 0, "IDAT", no data, the CRC-32 of "IDAT"
  std::string empty("\x00\x00\x00\x00IDAT\x35\xaf\x06\x1e", 12);
  write_file_atomic(dir + "/empty.png", bytes.substr(0, idat - 4) + empty + bytes.substr(idat - 4));
  ir::Tensor with = read_image(dir + "/empty.png", defaults());
  ir::Tensor without = read_image(test_png(), defaults());
  ASSERT_EQ(with.dims(), without.dims());
  EXPECT_EQ(0, std::memcmp(with.raw(), without.raw(), with.byte_size()));
}

// Debian's stb_image wrote past its Huffman arrays for a DHT segment declaring
// more than 256 symbols (image_fuzz under UBSan): refused before decoding.
TEST(Images, AJpegHuffmanTableOverTwoHundredFiftySixSymbolsIsRefused) {
  std::string dir = testing::temp_dir();
  std::vector<unsigned char> px(16 * 16 * 3, 128);
  std::string jpg = dir + "/a.jpg";
  ASSERT_TRUE(stbi_write_jpg(jpg.c_str(), 16, 16, 3, px.data(), 95));
  read_image(jpg, defaults());  // decodes as it is
  // The first table's 16 counts (after the marker, the length and the class byte): 32 each, 512 symbols.
  std::string e = error_of(patched(jpg, "\xFF\xC4", 5, std::string(16, '\x20'), "huffman.jpg"), defaults());
  EXPECT_NE(e.find("huffman.jpg"), std::string::npos) << e;
  EXPECT_NE(e.find("declares 512 symbols"), std::string::npos) << e;
}

TEST(Images, ParseImageSize) {
  ImageOptions o;
  EXPECT_FALSE(o.configured());
  parse_image_size("--image-size", "192x48", o);
  EXPECT_EQ(o.width, 192);
  EXPECT_EQ(o.height, 48);
  EXPECT_TRUE(o.configured());
  parse_image_size("--image-size", "224X224", o);
  EXPECT_EQ(o.width, 224);
  EXPECT_EQ(o.height, 224);
  for (const char* bad : {"", "224", "x224", "224x", "0x10", "-3x4", "12x4x3", "axb", "12.5x4", "99999999999999999999x4"}) {
    ImageOptions b;
    try {
      parse_image_size("--image-size", bad, b);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--image-size"), std::string::npos) << e.what();
    }
    EXPECT_EQ(b.width, 0) << bad;  // a failed parse leaves the options untouched
  }
  try {
    parse_image_size("--image-size", "12x4x3", o);
    ADD_FAILURE() << "accepted '12x4x3'";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "--image-size: expected WxH such as 224x224, got '12x4x3'");
  }
}

TEST(Images, ParseFloatList) {
  EXPECT_EQ(parse_float_list("--mean", "0.485,0.456,0.406"), (std::vector<float>{0.485f, 0.456f, 0.406f}));
  EXPECT_EQ(parse_float_list("--std", " 2 , -1.5e1"), (std::vector<float>{2.f, -15.f}));
  for (const char* bad : {"", "0.5,", "0.5,,1", "abc", "1;2", "0.5x", "nan", "inf,1,1"}) {
    try {
      parse_float_list("--mean", bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--mean"), std::string::npos) << e.what();
    }
  }
}

TEST(Images, IsImageFile) {
  EXPECT_TRUE(is_image_file("a.png"));
  EXPECT_TRUE(is_image_file("dir/b.JPG"));
  EXPECT_TRUE(is_image_file("c.Jpeg"));
  EXPECT_FALSE(is_image_file("d.npy"));
  EXPECT_FALSE(is_image_file("png"));
  EXPECT_FALSE(is_image_file("e.png.txt"));
}

}  // namespace
}  // namespace pare::formats
