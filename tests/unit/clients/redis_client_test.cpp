// The asynchronous Redis client against real redis-server processes.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12 false positive on coroutines

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "clients/redis_client.hpp"
#include "clients/redis_slot.hpp"
#include "support/redis_server.hpp"

namespace gatewayd {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Runs the io_context until `aw` completes (background connection tasks keep it busy forever,
// so run() would not return). Bounded so a hang fails the test instead of blocking it.
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> aw, std::chrono::seconds limit = 20s) {
  std::optional<T> out;
  std::exception_ptr error;
  // A context that ran out of work stops; it must be restarted before it runs anything again.
  if (io.stopped()) io.restart();
  asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T value) {
    error = e;
    out.emplace(std::move(value));
  });
  const auto until = Clock::now() + limit;
  while (!out && Clock::now() < until) io.run_one_for(50ms);
  if (error) std::rethrow_exception(error);
  if (!out) throw std::runtime_error("coroutine did not finish in time");
  return std::move(*out);
}

// Keeps the io_context turning for a while (lets background reconnects happen).
void spin(asio::io_context& io, std::chrono::milliseconds d) {
  if (io.stopped()) io.restart();
  const auto until = Clock::now() + d;
  while (Clock::now() < until) io.run_one_for(10ms);
}

RedisOptions options_for(const test::RedisServer& server) {
  RedisOptions o;
  o.endpoint = {server.host(), server.port()};
  o.connect_timeout = 2s;
  o.command_timeout = 2s;
  o.reconnect_min = 20ms;
  o.reconnect_max = 200ms;
  o.name = "test";
  return o;
}

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::redis_installed()) GTEST_SKIP() << "redis-server not installed";
  }
  asio::io_context io_;
};

TEST_F(RedisClientTest, SetGetAndServerErrors) {
  test::RedisServer server;
  auto client = RedisClient::create(io_.get_executor(), options_for(server));
  auto set = run(io_, client->execute(RedisCommand({"SET", "greeting", "hello"})));
  ASSERT_TRUE(set.ok()) << set.message;
  EXPECT_EQ(set.reply.str, "OK");
  auto get = run(io_, client->execute(RedisCommand({"GET", "greeting"})));
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get.reply.str, "hello");
  auto missing = run(io_, client->execute(RedisCommand({"GET", "nothing"})));
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing.reply.is_nil());
  auto wrong = run(io_, client->execute(RedisCommand({"INCR", "greeting"})));
  EXPECT_EQ(wrong.ec, RedisErrc::kServerError);
  EXPECT_NE(wrong.message.find("ERR"), std::string::npos);
  // The connection is still usable after an error reply.
  auto again = run(io_, client->execute(RedisCommand({"GET", "greeting"})));
  EXPECT_EQ(again.reply.str, "hello");
  client->stop();
}

// Starts `n` coroutines at once, each sending one INCR; they are all in flight together on the
// one connection. Returns the value each one got, by start order.
std::vector<std::int64_t> incr_concurrently(asio::io_context& io,
                                            const std::shared_ptr<RedisClient>& client, int n) {
  std::vector<std::int64_t> values(static_cast<std::size_t>(n), 0);
  int done = 0;
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(io, client->execute(RedisCommand({"INCR", "counter"})),
                   [&values, &done, i](std::exception_ptr, RedisResult r) {
                     values[static_cast<std::size_t>(i)] = r.ok() ? r.reply.integer : -1;
                     ++done;
                   });
  }
  const auto until = Clock::now() + 20s;
  while (done < n && Clock::now() < until) io.run_one_for(50ms);
  return values;
}

TEST_F(RedisClientTest, PipelinedRepliesAreMatchedInOrder) {
  test::RedisServer server;
  auto client = RedisClient::create(io_.get_executor(), options_for(server));
  // Connect first, so the burst below is written on a ready connection.
  ASSERT_TRUE(run(io_, client->execute(RedisCommand({"PING"}))).ok());
  const auto values = incr_concurrently(io_, client, 500);
  ASSERT_EQ(values.size(), 500u);
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], std::int64_t(i) + 1);
  EXPECT_EQ(server.cli({"GET", "counter"}), "500");
}

TEST_F(RedisClientTest, AuthAndSelectOnConnect) {
  test::RedisServerOptions so;
  so.password = "pa55-word";
  test::RedisServer server(so);
  auto o = options_for(server);
  o.password = "pa55-word";
  o.db = 3;
  auto client = RedisClient::create(io_.get_executor(), o);
  auto r = run(io_, client->execute(RedisCommand({"SET", "k", "v"})));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(server.cli({"-n", "3", "GET", "k"}), "v");
  EXPECT_EQ(server.cli({"-n", "0", "EXISTS", "k"}), "0");

  auto bad = options_for(server);
  bad.password = "not-the-password";
  auto rejected = RedisClient::create(io_.get_executor(), bad);
  auto f = run(io_, rejected->execute(RedisCommand({"GET", "k"})));
  EXPECT_EQ(f.ec, RedisErrc::kConnectFailed);
  EXPECT_EQ(f.message.find("not-the-password"), std::string::npos);
  EXPECT_NE(f.message.find("authentication"), std::string::npos) << f.message;
}

TEST_F(RedisClientTest, DeadlineMissOnAStoppedServerThenRecovery) {
  test::RedisServer server;
  auto o = options_for(server);
  o.connect_timeout = 300ms;
  auto client = RedisClient::create(io_.get_executor(), o);
  ASSERT_TRUE(run(io_, client->execute(RedisCommand({"PING"}))).ok());

  server.pause();
  const auto r = run(io_, client->execute(RedisCommand({"GET", "x"}), Clock::now() + 100ms));
  EXPECT_EQ(r.ec, RedisErrc::kTimeout);
  // While the server is unresponsive, later commands fail without waiting for a reply.
  const auto r2 = run(io_, client->execute(RedisCommand({"GET", "x"}), Clock::now() + 5s));
  EXPECT_FALSE(r2.ok());
  server.resume();

  bool recovered = false;
  const auto until = Clock::now() + 15s;
  while (!recovered && Clock::now() < until) {
    recovered = run(io_, client->execute(RedisCommand({"PING"}), Clock::now() + 1s)).ok();
    if (!recovered) spin(io_, 50ms);
  }
  EXPECT_TRUE(recovered);
}

TEST_F(RedisClientTest, ServerRestartIsPickedUpWithoutANewClient) {
  test::RedisServer server;
  auto client = RedisClient::create(io_.get_executor(), options_for(server));
  ASSERT_TRUE(run(io_, client->execute(RedisCommand({"SET", "a", "1"}))).ok());
  server.stop();
  const auto down = run(io_, client->execute(RedisCommand({"GET", "a"})));
  EXPECT_FALSE(down.ok());
  EXPECT_TRUE(down.ec == RedisErrc::kConnectionLost || down.ec == RedisErrc::kNotConnected ||
              down.ec == RedisErrc::kConnectFailed)
      << down.message;
  // Down and backing off: commands fail at once rather than waiting for their deadline.
  spin(io_, 100ms);
  const auto t0 = Clock::now();
  const auto fast = run(io_, client->execute(RedisCommand({"GET", "a"}), Clock::now() + 10s));
  EXPECT_FALSE(fast.ok());
  EXPECT_LT(Clock::now() - t0, 5s);

  server.start();
  bool recovered = false;
  const auto until = Clock::now() + 15s;
  while (!recovered && Clock::now() < until) {
    recovered = run(io_, client->execute(RedisCommand({"SET", "a", "2"}))).ok();
    if (!recovered) spin(io_, 50ms);
  }
  ASSERT_TRUE(recovered);
  EXPECT_EQ(server.cli({"GET", "a"}), "2");
}

TEST_F(RedisClientTest, InFlightQueueIsBounded) {
  test::RedisServer server;
  auto o = options_for(server);
  o.max_in_flight = 4;
  auto client = RedisClient::create(io_.get_executor(), o);
  ASSERT_TRUE(run(io_, client->execute(RedisCommand({"PING"}))).ok());
  server.pause();
  int finished = 0, failed = 0;
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(io_, client->execute(RedisCommand({"GET", "x"}), Clock::now() + 2s),
                   [&](std::exception_ptr, RedisResult r) {
                     ++finished;
                     if (!r.ok()) ++failed;
                   });
  }
  spin(io_, 50ms);  // the four are written and waiting for replies that do not come
  const auto overflow = run(io_, client->execute(RedisCommand({"GET", "x"})));
  EXPECT_EQ(overflow.ec, RedisErrc::kQueueFull);
  EXPECT_EQ(finished, 0);
  server.resume();
  const auto until = Clock::now() + 10s;
  while (finished < 4 && Clock::now() < until) io_.run_one_for(50ms);
  EXPECT_EQ(finished, 4);
  EXPECT_EQ(failed, 0);  // late, but inside their deadline
}

TEST_F(RedisClientTest, EvalShaLoadsTheScriptAndReloadsAfterFlush) {
  test::RedisServer server;
  auto client = RedisClient::create(io_.get_executor(), options_for(server));
  static const RedisScript script("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}");
  const std::string_view keys[] = {"{s}:n"};
  const std::string_view args[] = {"arg"};
  auto first = run(io_, client->eval(script, keys, args, Clock::now() + 2s));
  ASSERT_TRUE(first.ok()) << first.message;
  ASSERT_EQ(first.reply.elements.size(), 3u);
  EXPECT_EQ(first.reply.elements[0].str, "{s}:n");
  EXPECT_EQ(first.reply.elements[1].str, "arg");
  EXPECT_EQ(first.reply.elements[2].integer, 1);
  EXPECT_EQ(server.cli({"SCRIPT", "EXISTS", script.sha1()}), "1");

  server.cli({"SCRIPT", "FLUSH"});
  ASSERT_EQ(server.cli({"SCRIPT", "EXISTS", script.sha1()}), "0");
  auto second = run(io_, client->eval(script, keys, args, Clock::now() + 2s));
  ASSERT_TRUE(second.ok()) << second.message;
  EXPECT_EQ(second.reply.elements[2].integer, 2);
}

TEST_F(RedisClientTest, StopFailsCommandsWithShutdown) {
  test::RedisServer server;
  auto client = RedisClient::create(io_.get_executor(), options_for(server));
  ASSERT_TRUE(run(io_, client->execute(RedisCommand({"PING"}))).ok());
  client->stop();
  EXPECT_EQ(run(io_, client->execute(RedisCommand({"PING"}))).ec, RedisErrc::kShutdown);
}

// ---- cluster ----

class RedisClusterClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::redis_installed()) return;
    cluster_ = new test::RedisCluster(3);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    if (cluster_ == nullptr) GTEST_SKIP() << "redis-server not installed";
  }
  std::shared_ptr<RedisClient> make_client() {
    RedisOptions o;
    o.cluster = true;
    o.cluster_nodes = {RedisEndpoint{cluster_->node(0).host(), cluster_->node(0).port()}};
    o.command_timeout = 2s;
    o.reconnect_min = 20ms;
    o.reconnect_max = 200ms;
    return RedisClient::create(io_.get_executor(), o);
  }
  static test::RedisCluster* cluster_;
  asio::io_context io_;
};
test::RedisCluster* RedisClusterClientTest::cluster_ = nullptr;

TEST_F(RedisClusterClientTest, RoutesKeysToTheirOwnersFromOneSeed) {
  auto client = make_client();
  for (int i = 0; i < 50; ++i) {
    const std::string key = "key:" + std::to_string(i);
    auto r = run(io_, client->execute(RedisCommand({"SET", key, std::to_string(i)})));
    ASSERT_TRUE(r.ok()) << key << ": " << r.message;
  }
  for (int i = 0; i < 50; ++i) {
    const std::string key = "key:" + std::to_string(i);
    auto r = run(io_, client->execute(RedisCommand({"GET", key})));
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.reply.str, std::to_string(i));
  }
  EXPECT_GE(client->node_count(), 3u);  // learnt from the slot map, only one seed given
  EXPECT_TRUE(client->ready());
}

TEST_F(RedisClusterClientTest, FollowsMovedAfterASlotMigrates) {
  auto client = make_client();
  const std::string key = "{moved-test}:k";
  ASSERT_TRUE(run(io_, client->execute(RedisCommand({"SET", key, "v1"}))).ok());
  const auto slot = redis_key_slot(key);
  const std::size_t owner = cluster_->owner_of(slot);
  const std::uint64_t redirects_before = client->redirects();
  cluster_->move_slot(slot, (owner + 1) % cluster_->size());

  auto r = run(io_, client->execute(RedisCommand({"GET", key})));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.reply.str, "v1");
  EXPECT_GT(client->redirects(), redirects_before);
  // The map was corrected: the next command goes straight to the new owner.
  const std::uint64_t after_first = client->redirects();
  ASSERT_TRUE(run(io_, client->execute(RedisCommand({"SET", key, "v2"}))).ok());
  EXPECT_EQ(client->redirects(), after_first);
}

TEST_F(RedisClusterClientTest, FollowsAskDuringAMigration) {
  auto client = make_client();
  const std::string key = "{ask-test}:k";
  ASSERT_TRUE(run(io_, client->execute(RedisCommand({"SET", key, "moving"}))).ok());
  const auto slot = redis_key_slot(key);
  const std::size_t owner = cluster_->owner_of(slot);
  const std::size_t target = (owner + 1) % cluster_->size();
  cluster_->move_slot(slot, target, /*finish=*/false);  // key now lives on the importing node

  const std::uint64_t before = client->redirects();
  auto r = run(io_, client->execute(RedisCommand({"GET", key})));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.reply.str, "moving");
  EXPECT_GT(client->redirects(), before);
  cluster_->move_slot(slot, target);  // finish, leaving the cluster consistent
}

TEST_F(RedisClusterClientTest, EvalShaOnTheNodeOwningTheKey) {
  auto client = make_client();
  static const RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  for (int i = 0; i < 6; ++i) {
    const std::string key = "{eval-" + std::to_string(i) + "}:n";
    const std::string_view keys[] = {key};
    const std::string_view args[] = {"5"};
    auto r = run(io_, client->eval(script, keys, args, Clock::now() + 2s));
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.reply.integer, 5);
  }
}

}  // namespace
}  // namespace gatewayd
