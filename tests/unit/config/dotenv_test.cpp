#include "config/dotenv.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gatewayd/settings.hpp"

namespace gatewayd {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string error_of(std::string_view text) {
  try {
    parse_dotenv(text, "f.env");
  } catch (const SettingsError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Dotenv, ParsesPlainLinesCommentsAndBlanks) {
  const auto e = parse_dotenv("# comment\n\nA=1\n  B = two words  \n\t# indented comment\n", "f");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].key, "A");
  EXPECT_EQ(e[0].value, "1");
  EXPECT_EQ(e[0].line, 3u);
  EXPECT_EQ(e[1].key, "B");
  EXPECT_EQ(e[1].value, "two words");
  EXPECT_EQ(e[1].line, 4u);
}

TEST(Dotenv, ExportPrefixAndEmptyValue) {
  const auto e = parse_dotenv("export PORT=8001\nexport\tX=\nEMPTY=\n", "f");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].key, "PORT");
  EXPECT_EQ(e[0].value, "8001");
  EXPECT_EQ(e[1].key, "X");
  EXPECT_EQ(e[1].value, "");
  EXPECT_EQ(e[2].value, "");
}

TEST(Dotenv, InlineCommentsNeedABlankBeforeTheHash) {
  const auto e = parse_dotenv("A=value # note\nB=pass#word\nC=#start\n", "f");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].value, "value");
  EXPECT_EQ(e[1].value, "pass#word");
  EXPECT_EQ(e[2].value, "#start");
}

TEST(Dotenv, SingleQuotesAreLiteral) {
  const auto e = parse_dotenv("A='a # b \\n $HOME'  # comment\nB=''\n", "f");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].value, "a # b \\n $HOME");
  EXPECT_EQ(e[1].value, "");
}

TEST(Dotenv, DoubleQuotesHaveEscapes) {
  const auto e = parse_dotenv(R"(A="line1\nline2\t\"q\" \\ \$X $Y" # c)", "f");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].value, "line1\nline2\t\"q\" \\ $X $Y");
}

TEST(Dotenv, NoExpansion) {
  const auto e = parse_dotenv("A=${HOME}/x\n", "f");
  EXPECT_EQ(e[0].value, "${HOME}/x");
}

TEST(Dotenv, CrLfLineEndings) {
  const auto e = parse_dotenv("A=1\r\nB=\"2\"\r\n", "f");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].value, "1");
  EXPECT_EQ(e[1].value, "2");
}

TEST(Dotenv, MalformedLinesNameFileAndLine) {
  EXPECT_THAT(error_of("A=1\nnot a pair\n"), HasSubstr("f.env:2:"));
  EXPECT_THAT(error_of("A=1\nB\n"), HasSubstr("f.env:2: expected KEY=VALUE"));
  EXPECT_THAT(error_of("1A=x\n"), HasSubstr("f.env:1:"));
  EXPECT_THAT(error_of("A-B=x\n"), HasSubstr("f.env:1:"));
  EXPECT_THAT(error_of("=x\n"), HasSubstr("f.env:1:"));
  EXPECT_THAT(error_of("\n\nA=\"open\n"), HasSubstr("f.env:3: unterminated double quote"));
  EXPECT_THAT(error_of("A='open\n"), HasSubstr("f.env:1: unterminated single quote"));
  EXPECT_THAT(error_of("A=\"x\" trailing\n"), HasSubstr("f.env:1:"));
  EXPECT_THAT(error_of(std::string_view("A=x\0y\n", 6)), HasSubstr("f.env:1: NUL"));
}

TEST(Dotenv, ErrorsNeverQuoteTheValue) {
  EXPECT_THAT(error_of("JWT_SECRET_KEY=\"s3cr3t-value\n"), Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(error_of("JWT_SECRET_KEY=\"s3cr3t-value\" junk\n"), Not(HasSubstr("s3cr3t")));
}

}  // namespace
}  // namespace gatewayd
