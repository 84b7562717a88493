// YAML files (budgets, plans): what yaml-cpp lets through must still be an error
// naming the file and the line.
#include <gtest/gtest.h>

#include "formats/yaml/yaml.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "tests/support/errors.h"
#include "tests/support/models.h"

namespace pare::formats {
namespace {

std::string yaml_file(const std::string& text) {
  std::string path = testing::temp_dir() + "/f.yaml";
  write_file_atomic(path, text);
  return path;
}

// The pare::Error message of loading `text`, or "" when it loads.
std::string load_error(const std::string& text) {
  std::string path = yaml_file(text);
  return testing::error_of([&] { load_yaml_file(path); });
}

// yaml-cpp 0.7 looped forever on these (jbeder/yaml-cpp#1040; yaml_fuzz found
// the first, and later the tag before a ','): a ',' starting a value outside [ ] or { }.
TEST(Yaml, ControlCharactersAreErrors) {
  for (const std::string text : {std::string("\0,\0", 3), std::string("a: b\x1b\n"), std::string("a: \x7f\n")}) {
    std::string e = load_error(text);
    EXPECT_NE(e.find("control character 0x"), std::string::npos) << e;
  }
  EXPECT_EQ(load_error("a:\tb\r\n"), "");  // tab and CR are allowed
}

TEST(Yaml, ACommaStartingAValueIsAnErrorNotAHang) {
  for (const std::string text : {",", "  ,", "\"a\",", "'a' ,", ",\xdd m\xdd\xdd\xdd\x8f\xdd\xa1\xdd\xdd\xff\xda" "dels:",
                                 "a: 1\n, b", "!a,", "&a,", "!@@@@@@@@@@@@@@@@@@,", "--- !!str,",
                                 "\xEF\xBB\xBF,"}) {
    SCOPED_TRACE(text);
    std::string e = load_error(text);
    EXPECT_NE(e.find("f.yaml: line "), std::string::npos) << e;
    EXPECT_NE(e.find("a ',' outside [ ] or { } cannot start a value"), std::string::npos) << e;
  }
  // Commas that YAML allows still load: in plain and quoted scalars, flow
  // collections, comments and block scalars.
  YAML::Node n = load_yaml_file(yaml_file(
      "a: b,c\n"
      "b: \"fold, dce\"\n"
      "c: [1, 2, {x: 3, y: 4}]\n"
      "d: it's, fine  # a comment, with commas\n"
      "e: |\n  , first\n\n  , third\n"
      "f: x:,y\n"
      "g: [!!str a, &k b, *k]\n"));
  EXPECT_EQ(n["a"].Scalar(), "b,c");
  EXPECT_EQ(n["b"].Scalar(), "fold, dce");
  EXPECT_EQ(n["c"][2]["y"].Scalar(), "4");
  EXPECT_EQ(n["d"].Scalar(), "it's, fine");
  EXPECT_EQ(n["e"].Scalar(), ", first\n\n, third\n");
  EXPECT_EQ(n["f"].Scalar(), "x:,y");
  EXPECT_EQ(n["g"][2].Scalar(), "b");  // a tag, an anchor and an alias before a ',' inside [ ]
}

TEST(Yaml, QuotedScalarsLoadAsBefore) {
  YAML::Node n = load_yaml_file(yaml_file(
      "a: \"x \\\" y\"\n"
      "b: 'it''s'\n"
      "c: \"two\n  lines\"\n"
      "\"d\": &k !!str 'tagged'\n"
      "e: [\"p\", 'q']\n"
      "f: *k\n"
      "g: |\n  \"block\n"
      "h: \"ends at the end\"\n"));
  EXPECT_EQ(n["a"].Scalar(), "x \" y");
  EXPECT_EQ(n["b"].Scalar(), "it's");
  EXPECT_EQ(n["c"].Scalar(), "two lines");
  EXPECT_EQ(n["d"].Scalar(), "tagged");
  EXPECT_EQ(n["e"][1].Scalar(), "q");
  EXPECT_EQ(n["f"].Scalar(), "tagged");
  EXPECT_EQ(n["g"].Scalar(), "\"block\n");
  EXPECT_EQ(n["h"].Scalar(), "ends at the end");
  // A UTF-8 byte order mark and multi-byte characters do not shift the check.
  EXPECT_EQ(load_yaml_file(yaml_file("\xEF\xBB\xBFk: 'v'\n\xC3\xA4: \"\xC3\xB6\"\n"))["k"].Scalar(), "v");
}

TEST(Yaml, UnterminatedQuoteIsAnErrorNamingFileAndLine) {
  for (const std::string text : {"a: 1\nb: \"abc\nc: 2\n", "a: 1\nb: 'abc\nc: 2\n", "a: 1\nb: \"ab\\\"\nc: 2\n",
                                 "a: 1\nb: 'it''s\n", "a: 1\nb: [\"x, y]\n\n", "a: 1\nb: &k \"abc\n"}) {
    std::string m = load_error(text);
    EXPECT_NE(m.find("f.yaml: line 2: a quoted string is not closed"), std::string::npos) << text << " gave: " << m;
  }
  // Without a newline after it, yaml-cpp reports it itself, as a syntax error.
  EXPECT_NE(load_error("a: \"abc").find("f.yaml: line 1: YAML syntax error"), std::string::npos);
}

TEST(Yaml, SecondDocumentIsAnErrorNamingFileAndLine) {
  for (const std::string text : {"a: 1\n---\nb: 2\n", "a: 1\n--- b\n", "a: 1\n---\n- x\n", "a: 1\n---\n{}\n"}) {
    std::string m = load_error(text);
    EXPECT_NE(m.find("f.yaml: line 2: a second YAML document"), std::string::npos) << text << " gave: " << m;
  }
  // One document, with its optional markers, and an empty file load as before.
  EXPECT_EQ(load_yaml_file(yaml_file("---\na: 1\n...\n"))["a"].Scalar(), "1");
  EXPECT_EQ(load_yaml_file(yaml_file("a: 1\n---\n"))["a"].Scalar(), "1");  // nothing is dropped
  EXPECT_TRUE(load_yaml_file(yaml_file("")).IsNull());
  EXPECT_TRUE(load_yaml_file(yaml_file("# only a comment\n")).IsNull());
}

TEST(Yaml, DimsThatAreNotSizesAreErrors) {
  for (const char* bad : {"99999999999999999999", "-1", "abc", "2x", "1.5"}) {
    try {
      yaml_dims(YAML::Load(std::string("{batch: ") + bad + "}"));
      FAIL() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.message(), std::string("'batch' must be a size, not '") + bad + "'");
    }
  }
  EXPECT_EQ(yaml_dims(YAML::Load("{batch: 9223372036854775807}")).at("batch"), INT64_MAX);
}

}  // namespace
}  // namespace pare::formats
