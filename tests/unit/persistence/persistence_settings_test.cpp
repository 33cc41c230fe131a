#include "persistence/persistence_settings.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>

#include "gatewayd/settings.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::persistence {
namespace {

using Env = std::map<std::string, std::string>;

Settings load(const test::TempDir& dir, const Env& env) {
  return load_settings(CliOptions{}, dir.path().string(), env);
}

TEST(PersistenceSettingsTest, RecordsCarryTheConfiguredNodeId) {
  test::TempDir dir("gatewayd-persistence-settings");
  const auto options = persistence_options_from(load(dir, {{"CLUSTER_NODE_ID", "gw-7"}}));
  EXPECT_EQ(options.node_id, "gw-7");
}

// Without CLUSTER_NODE_ID the rows name the host, as /health does, not NULL: several replicas
// writing into one database stay distinguishable without extra configuration.
TEST(PersistenceSettingsTest, RecordsCarryTheHostNameWithoutANodeId) {
  test::TempDir dir("gatewayd-persistence-settings");
  const Settings settings = load(dir, {});
  const auto options = persistence_options_from(settings);
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  EXPECT_FALSE(options.node_id.empty());
  EXPECT_EQ(options.node_id, settings.node_id);
  EXPECT_EQ(options.node_id, host[0] != '\0' ? std::string(host) : std::string("gatewayd"));
}

}  // namespace
}  // namespace gatewayd::persistence
