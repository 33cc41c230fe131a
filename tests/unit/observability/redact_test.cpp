#include "observability/redact.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gatewayd::logging {
namespace {

std::string redact(std::string_view target) {
  std::string out;
  append_redacted_target(out, target);
  return out;
}

TEST(RedactTest, ReplacesCredentialValuesOnly) {
  EXPECT_EQ(redact("/items"), "/items");
  EXPECT_EQ(redact("/items?page=2&sort=asc"), "/items?page=2&sort=asc");
  EXPECT_EQ(redact("/x?a=1&api_key=SECRET&Access_Token=abc&b=2"),
            "/x?a=1&api_key=REDACTED&Access_Token=REDACTED&b=2");
  EXPECT_EQ(redact("/x?password=p%20w&password=again"), "/x?password=REDACTED&password=REDACTED");
  EXPECT_EQ(redact("/x?token"), "/x?token");  // no value to hide
  EXPECT_EQ(redact("/x?token="), "/x?token=REDACTED");
  EXPECT_EQ(redact("/x?"), "/x?");
  EXPECT_EQ(redact("/x?&&a=1&"), "/x?&&a=1&");
  EXPECT_EQ(redact("/x?tokens=1&my_token=2"), "/x?tokens=1&my_token=2");
}

TEST(RedactTest, SensitiveNames) {
  for (const char* name : {"api_key", "APIKEY", "key", "token", "jwt", "client_secret", "sig"}) {
    EXPECT_TRUE(is_sensitive_parameter(name)) << name;
  }
  for (const char* name : {"page", "keys", "q", ""}) {
    EXPECT_FALSE(is_sensitive_parameter(name)) << name;
  }
}

}  // namespace
}  // namespace gatewayd::logging
