#include "filters/auth/auth_metrics.hpp"

#include <gtest/gtest.h>

#include "auth_fixtures.hpp"

namespace gatewayd::auth {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(AuthMetrics, JwksSeries) {
  metrics::Registry registry;
  int calls = 0;
  auto cache =
      std::make_shared<JwksCache>(JwksCache::Options{}, [&]() -> std::optional<std::string> {
        return ++calls == 1 ? std::optional<std::string>(testing::read_fixture("jwks.json"))
                            : std::nullopt;
      });
  register_jwks_metrics(registry, cache, "idp");
  std::string before = registry.render();
  EXPECT_TRUE(has_line(before, R"(gatewayd_jwks_key_set_age_seconds{source="idp"} -1)")) << before;
  EXPECT_TRUE(has_line(before, R"(gatewayd_jwks_keys{source="idp"} 0)")) << before;

  ASSERT_TRUE(cache->refresh_now());
  ASSERT_FALSE(cache->refresh_now());
  std::string after = registry.render();
  EXPECT_TRUE(has_line(after, R"(gatewayd_jwks_keys{source="idp"} 6)")) << after;
  EXPECT_TRUE(has_line(after, R"(gatewayd_jwks_fetches_total{source="idp"} 2)")) << after;
  EXPECT_TRUE(has_line(after, R"(gatewayd_jwks_fetch_failures_total{source="idp"} 1)")) << after;
  EXPECT_FALSE(has_line(after, R"(gatewayd_jwks_key_set_age_seconds{source="idp"} -1)"));

  cache.reset();  // the registry must not keep the cache alive or crash afterwards
  std::string gone = registry.render();
  EXPECT_TRUE(has_line(gone, R"(gatewayd_jwks_keys{source="idp"} 0)")) << gone;
}

}  // namespace
}  // namespace gatewayd::auth
