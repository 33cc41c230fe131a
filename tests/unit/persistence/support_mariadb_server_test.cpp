// The mariadbd launcher every MySQL test relies on.
#include <gtest/gtest.h>

#include "support/free_port.hpp"
#include "support/mariadb_server.hpp"

namespace gatewayd::test {
namespace {

TEST(SupportMariaDbServer, StartsStopsAndRestartsOnTheSameData) {
  MariaDbServerOptions options;
  options.database = "support_db";
  MariaDbServer server(options);
  ASSERT_TRUE(server.running());
  server.sql("CREATE TABLE t (v INT) ENGINE=InnoDB; INSERT INTO t VALUES (7);", "support_db");

  // The test account authenticates with its password over TCP.
  std::string out;
  ExitStatus s = server.client({"-e", "SELECT v FROM support_db.t"}, &out);
  ASSERT_TRUE(s.success()) << out;
  EXPECT_EQ(out, "7\n");

  server.stop();
  EXPECT_FALSE(server.running());
  EXPECT_FALSE(port_accepts(server.port()));
  server.start();
  EXPECT_EQ(server.sql("SELECT v FROM support_db.t"), "7\n");

  server.kill();
  EXPECT_FALSE(server.running());
  server.start();
  EXPECT_EQ(server.sql("SELECT COUNT(*) FROM support_db.t"), "1\n");
}

TEST(SupportMariaDbServer, WrongPasswordIsRefused) {
  MariaDbServer server;
  std::string out;
  ExitStatus s = server.client({"--password=wrong", "-e", "SELECT 1"}, &out);
  EXPECT_FALSE(s.success());
}

}  // namespace
}  // namespace gatewayd::test
