// metrics/spread.h: the bootstrap ranges of figures over samples, and the
// loudest sample of an output's error (OutputDiffAccumulator::spread).
#include <gtest/gtest.h>

#include <cmath>

#include "lib/metrics/compare.h"
#include "lib/metrics/spread.h"

namespace pare::metrics {
namespace {

TEST(Spread, SamplesAlikeGiveOneValue) {
  // Every sample keeps 20 dB: any draw of them keeps 20 dB.
  std::vector<double> signal(50, 100.0), noise(50, 1.0);
  Range r = sqnr_range_db(signal, noise);
  EXPECT_NEAR(r.low, 20.0, 1e-9);
  EXPECT_NEAR(r.high, 20.0, 1e-9);
}

TEST(Spread, OneLoudSampleWidensTheRange) {
  // 200 quiet samples and two loud ones carrying most of the noise: whether a
  // draw holds none, one or several of them moves the SQNR by decibels.
  std::vector<double> signal(202, 100.0), noise(202, 0.01);
  noise[17] = noise[150] = 2.0;
  double point = 10 * std::log10(100.0 * 202 / (0.01 * 200 + 4.0));
  Range r = sqnr_range_db(signal, noise);
  EXPECT_LT(r.low, point - 1.0);
  EXPECT_GT(r.high, point + 1.0);
  // Without the loud ones the range is narrow again.
  std::vector<double> quiet(202, 0.01);
  Range q = sqnr_range_db(signal, quiet);
  EXPECT_LT(q.high - q.low, 1e-9);
  // The same sums give the same range.
  Range again = sqnr_range_db(signal, noise);
  EXPECT_EQ(again.low, r.low);
  EXPECT_EQ(again.high, r.high);
}

TEST(Spread, TheChangeOfAMeanIsPaired) {
  // Each sample's score drops by exactly 1 after: every draw drops by 1,
  // however much the scores differ between samples.
  std::vector<double> before, after;
  for (int i = 0; i < 40; ++i) {
    before.push_back(i % 7);
    after.push_back(i % 7 - 1.0);
  }
  Range r = mean_change_range(before, after);
  EXPECT_NEAR(r.low, -1.0, 1e-12);
  EXPECT_NEAR(r.high, -1.0, 1e-12);
  // 4 of 100 samples lost (1 -> 0): the change is -4 points, and a draw may hold fewer or more of them.
  std::vector<double> hit(100, 1.0), lost(100, 1.0);
  for (int i : {3, 30, 60, 90}) lost[i] = 0.0;
  Range d = mean_change_range(hit, lost);
  EXPECT_LT(d.low, -0.04);
  EXPECT_GT(d.high, -0.04);
  EXPECT_LE(d.high, 0.0);  // no draw gains
}

TEST(Spread, TheAccumulatorNamesTheLoudestSample) {
  OutputDiffAccumulator acc("y");
  auto tensor = [](std::vector<float> v) { return ir::Tensor::from<float>({static_cast<int64_t>(v.size())}, v); };
  acc.add(tensor({1, 2, 3}), tensor({1, 2, 3.1f}));  // noise 0.01
  acc.add(tensor({1, 2, 3}), tensor({1, 2.5f, 3}));  // noise 0.25: the loudest
  acc.add(tensor({1, 2, 3}), tensor({1.1f, 2, 3}));  // noise 0.01
  auto s = acc.spread();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->loudest, 1u);
  EXPECT_NEAR(s->loudest_share, 0.25 / 0.27, 1e-5);
  EXPECT_NEAR(s->loudest_sqnr_db, 10 * std::log10(14.0 / 0.25), 1e-4);
  EXPECT_LE(s->sqnr_db.low, s->sqnr_db.high);
  // One sample, or no error at all: no spread.
  OutputDiffAccumulator one("y"), same("y");
  one.add(tensor({1, 2}), tensor({1, 3}));
  EXPECT_FALSE(one.spread().has_value());
  same.add(tensor({1, 2}), tensor({1, 2}));
  same.add(tensor({3, 2}), tensor({3, 2}));
  EXPECT_FALSE(same.spread().has_value());
}

}  // namespace
}  // namespace pare::metrics
