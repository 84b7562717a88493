// The pipeline grammar: canonical printing, round trips, and one-line errors
// with a column and a "did you mean".
#include <gtest/gtest.h>

#include <regex>

#include "lib/base/error.h"
#include "passes/pipeline.h"

namespace pare::passes {
namespace {

std::string error_of(const std::string& text) {
  try {
    Pipeline::parse(text);
  } catch (const PipelineSyntaxError& e) {
    return fmt::format("--passes:{}: {}", e.column, e.message());  // as the CLI words it
  }
  return "";
}

TEST(Pipeline, EmptyAndSimple) {
  EXPECT_TRUE(Pipeline::parse("").empty());
  EXPECT_TRUE(Pipeline::parse("   ").empty());
  EXPECT_EQ(Pipeline::parse("dce").str(), "dce");
  EXPECT_EQ(Pipeline::parse("dce, dce").str(), "dce,dce");
  EXPECT_EQ(Pipeline::parse("dce()").str(), "dce");
  EXPECT_EQ(Pipeline::parse("dce,\n  dce").steps().size(), 2u);
}

TEST(Pipeline, CanonicalFormRoundTripsForEveryPass) {
  for (const PassInfo* p : all_passes()) {
    std::string canonical = Pipeline::parse(p->name).str();
    EXPECT_EQ(Pipeline::parse(canonical).str(), canonical) << p->name;
    // Every option is spelled out, except an empty list, which has no text.
    for (const auto& o : p->options)
      if (o.type != OptionType::kList) EXPECT_NE(canonical.find(o.name + "="), std::string::npos) << canonical;
  }
}

TEST(Pipeline, ListsRepeatTheirKeyAndQuoteWhatNeedsIt) {
  std::string canonical = Pipeline::parse("quantize(fp16, skip=conv*, skip=\"head, 2\")").str();
  EXPECT_EQ(canonical,
            "quantize(dtype=fp16,weights-only=false,per-channel=true,min-size=16,skip=conv*,skip=\"head, 2\","
            "keep-io=true,calib=\"\",method=percentile,percentile=99.999,int8-activations=false,symmetric=false,"
            "bias=float,smooth=0,float16-biases=false,block=32,bits=8,scales=float16,correct=\"\",gptq=\"\",sequential=true,if-any=false)");
  EXPECT_EQ(Pipeline::parse(canonical).str(), canonical);
}

TEST(Pipeline, UnknownPassSuggestsTheNearestName) {
  EXPECT_EQ(error_of("dce,dc"), "--passes:5: unknown pass 'dc' (did you mean 'dce'?) (see 'pare passes')");
  EXPECT_EQ(error_of("zzzzzz"), "--passes:1: unknown pass 'zzzzzz' (see 'pare passes')");
}

TEST(Pipeline, SyntaxErrorsHaveAColumn) {
  EXPECT_EQ(error_of("dce("), "--passes:5: expected ')' at the end");
  EXPECT_EQ(error_of("dce dce"), "--passes:5: expected ',' but found 'd'");
  EXPECT_EQ(error_of("dce,"), "--passes:5: expected a pass name");
  EXPECT_EQ(error_of("dce(x=1)"), "--passes:5: pass 'dce' has no option 'x'");
  EXPECT_EQ(error_of("dce(flag)"), "--passes:5: pass 'dce' has no option or value 'flag'");
}

TEST(Options, ParseValidatesTypesAndRanges) {
  OptionSpec sparsity{"sparsity", OptionType::kNumber, "0.5", "fraction", 0, 1, true, {}};
  EXPECT_EQ(std::get<double>(parse_option_value(sparsity, "0.25")), 0.25);
  EXPECT_THROW(parse_option_value(sparsity, "1"), Error);
  EXPECT_THROW(parse_option_value(sparsity, "-0.1"), Error);
  EXPECT_THROW(parse_option_value(sparsity, "half"), Error);
  OptionSpec mode{"mode", OptionType::kChoice, "magnitude", "", 0, 0, false, {"magnitude", "channel"}};
  try {
    parse_option_value(mode, "chanel");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'channel'"), std::string::npos);
  }
  OptionSpec flag{"per-channel", OptionType::kBool, "true", "", 0, 0, false, {}};
  EXPECT_FALSE(std::get<bool>(parse_option_value(flag, "false")));
  EXPECT_THROW(parse_option_value(flag, "maybe"), Error);
  OptionSpec name{"calib", OptionType::kString, "", "", 0, 0, false, {}};
  OptionValues v = default_values({name});
  v.set("calib", std::string("data/my calib"));
  EXPECT_EQ(print_options({name}, v)[0], "calib=\"data/my calib\"");
}

}  // namespace
}  // namespace pare::passes
