// The text-line renderer behind the text-direction test set (tests/support/text_lines.h).
#include "tests/support/text_lines.h"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/models.h"

namespace pare::testing {
namespace {

// Mean column of the pixels darker than the midpoint between ink and paper, or -1.
double mean_dark_column(const std::vector<uint8_t>& rgb, const TextLineStyle& s) {
  const int threshold = (s.ink + s.paper) / 2;
  double sum = 0;
  long n = 0;
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x)
      if (rgb[(static_cast<size_t>(y) * s.width + x) * 3] < threshold) sum += x, ++n;
  return n ? sum / n : -1;
}

TEST(TextLine, RendersInkOnPaper) {
  TextLineStyle style;
  auto rgb = render_text_line("Hello 123", style);
  ASSERT_EQ(rgb.size(), static_cast<size_t>(style.width) * style.height * 3);
  int dark = 0, light = 0;
  for (size_t p = 0; p < rgb.size(); p += 3) {
    EXPECT_EQ(rgb[p], rgb[p + 1]);
    EXPECT_EQ(rgb[p], rgb[p + 2]);
    if (rgb[p] < 64) ++dark;
    if (rgb[p] > 192) ++light;
  }
  EXPECT_GT(dark, 100);
  EXPECT_GT(light, static_cast<int>(rgb.size() / 3 / 2));  // mostly paper
}

TEST(TextLine, Rotate180MovesTextRight) {
  TextLineStyle style;
  auto upright = render_text_line("Hello 123", style);
  style.rotate180 = true;
  auto rotated = render_text_line("Hello 123", style);
  double up = mean_dark_column(upright, style), rot = mean_dark_column(rotated, style);
  ASSERT_GE(up, 0);
  ASSERT_GE(rot, 0);
  EXPECT_LT(up, style.width / 2.0);
  EXPECT_GT(rot, style.width / 2.0);
  EXPECT_NEAR(up + rot, style.width - 1, 1e-6);  // exact mirror image
}

TEST(TextLine, Deterministic) {
  std::string a = random_words(42, 8, 18), b = random_words(42, 8, 18);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, random_words(43, 8, 18));
  TextLineStyle style;
  EXPECT_EQ(render_text_line(a, style), render_text_line(b, style));
  for (uint64_t seed = 0; seed < 200; ++seed) {
    std::string t = random_words(seed, 5, 12);
    ASSERT_GE(t.size(), 5u);
    ASSERT_LE(t.size(), 12u);
    EXPECT_NE(t.front(), ' ');
    EXPECT_NE(t.back(), ' ');
    EXPECT_EQ(t.find("  "), std::string::npos);
    for (char c : t) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == ' ') << t;
  }
}

TEST(TextLine, DirectionSet) {
  std::string dir = temp_dir() + "/cls";
  const int count = 10;
  auto labels = write_text_direction_set(dir, count, 7);
  ASSERT_EQ(labels.size(), static_cast<size_t>(count));
  int ones = 0;
  for (int l : labels) ones += l;
  EXPECT_EQ(ones, count / 2);

  int pngs = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".png") ++pngs;
  EXPECT_EQ(pngs, count);

  std::ifstream in(dir + "/labels.txt");
  ASSERT_TRUE(in);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    int label = -1;
    fields >> name >> label;
    char expected[32];
    std::snprintf(expected, sizeof expected, "img_%04d.png", n);
    EXPECT_EQ(name, expected);
    ASSERT_LT(n, count);
    EXPECT_EQ(label, labels[n]);
    // A PNG of 192x48: signature, then IHDR with big-endian width and height.
    std::ifstream png(dir + "/" + name, std::ios::binary);
    unsigned char head[24] = {};
    png.read(reinterpret_cast<char*>(head), sizeof head);
    ASSERT_TRUE(png) << name;
    EXPECT_EQ(head[1], 'P');
    EXPECT_EQ((head[16] << 24) | (head[17] << 16) | (head[18] << 8) | head[19], 192);
    EXPECT_EQ((head[20] << 24) | (head[21] << 16) | (head[22] << 8) | head[23], 48);
    ++n;
  }
  EXPECT_EQ(n, count);

  // The same seed writes the same set.
  std::string again = temp_dir() + "/cls";
  EXPECT_EQ(write_text_direction_set(again, count, 7), labels);
  auto bytes = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  EXPECT_EQ(bytes(dir + "/img_0003.png"), bytes(again + "/img_0003.png"));
  EXPECT_EQ(bytes(dir + "/labels.txt"), bytes(again + "/labels.txt"));
}

TEST(TextLine, MissingFontThrows) {
  EXPECT_THROW(render_text_line("x", TextLineStyle{}, "/nonexistent/font.ttf"), std::runtime_error);
  EXPECT_THROW(write_png(temp_dir() + "/bad.png", {1, 2, 3}, 192, 48), std::runtime_error);
}

}  // namespace
}  // namespace pare::testing
