#include "filters/auth/crypto_util.hpp"

#include <gtest/gtest.h>

namespace gatewayd::auth {
namespace {

TEST(Base64Url, RoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 40; ++i) {
    auto encoded = base64url_encode(data);
    EXPECT_EQ(encoded.find('='), std::string::npos);
    auto decoded = base64url_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << i;
    EXPECT_EQ(*decoded, data);
    data.push_back(static_cast<char>(i * 37 + 250));
  }
}

TEST(Base64Url, KnownValues) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(base64url_encode("{\"alg\":\"HS256\"}"), "eyJhbGciOiJIUzI1NiJ9");
}

TEST(Base64Url, RejectsWhatStrictDecodingForbids) {
  EXPECT_FALSE(base64url_decode("ab+c"));  // standard alphabet
  EXPECT_FALSE(base64url_decode("ab/c"));
  EXPECT_FALSE(base64url_decode("YQ=="));  // padding
  EXPECT_FALSE(base64url_decode("YQ="));
  EXPECT_FALSE(base64url_decode("Y Q"));  // whitespace
  EXPECT_FALSE(base64url_decode("YQ\n"));
  EXPECT_FALSE(base64url_decode("abcde"));  // impossible length
  EXPECT_FALSE(base64url_decode("YR"));     // non-zero trailing bits ("a" is "YQ")
  EXPECT_FALSE(base64url_decode(std::string("YQ\0", 3)));
  EXPECT_TRUE(base64url_decode("YQ"));
  EXPECT_TRUE(base64url_decode(""));
}

TEST(CryptoUtil, Sha256Hex) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto parsed = sha256_from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, sha256("abc"));
  EXPECT_FALSE(sha256_from_hex("ba78"));
  EXPECT_FALSE(sha256_from_hex(std::string(64, 'g')));
}

TEST(CryptoUtil, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(CryptoUtil, RandomBytesDiffer) {
  auto a = random_bytes(32);
  auto b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace gatewayd::auth
