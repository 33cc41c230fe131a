// Reloads under load, graceful shutdown under load, CLI behaviour of the real binary.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"

namespace gatewayd::test {
namespace {

std::string services_for(const DemoUpstream& a) {
  return "services:\n  demo:\n    instances:\n      - url: " + a.url() + "\n";
}

std::string routes(int variant) {
  return "routes:\n  - path: /demo/**\n    service: demo\n    auth_required: false\n"
         "    strip_prefix: true\n    methods: [GET]\n  - path: /v" +
         std::to_string(variant) + "\n    service: demo\n    auth_required: false\n";
}

constexpr const char* kBrokenRoutes =
    "routes:\n  - path: /demo/**\n    service: no-such-service\n    auth_required: false\n";

std::pair<unsigned, std::string> admin_post(std::uint16_t port, const std::string& target) {
  HttpRequestSpec spec;
  spec.method = "POST";
  spec.target = target;
  spec.headers = {{"Authorization", std::string("Bearer ") + GatewayProcess::kAdminToken}};
  const auto res = http_request(port, spec);
  return {res.status, res.body};
}

TEST(Lifecycle, TwoHundredReloadsUnderLoadLoseNoRequest) {
  DemoUpstream upstream("demo");
  GatewayProcess gateway({routes(0), services_for(upstream), {}, 2, true});

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto conn = std::make_unique<HttpConnection>(gateway.port());
      HttpRequestSpec spec;
      spec.target = "/demo/hello";
      while (!stop.load()) {
        const auto res = conn->request(spec);
        if (res.status == 200) {
          ++ok;
        } else {
          ++failed;
        }
        if (!conn->is_open()) conn = std::make_unique<HttpConnection>(gateway.port());
      }
    });
  }

  int accepted = 0, refused = 0;
  for (int i = 0; i < 200; ++i) {
    const bool valid = i % 2 == 0;
    gateway.write_routes(valid ? routes(i) : kBrokenRoutes);
    const auto [status, body] = admin_post(gateway.admin_port(), "/admin/reload");
    if (valid) {
      EXPECT_EQ(status, 200u) << body;
      ++accepted;
    } else {
      EXPECT_EQ(status, 400u) << body;
      ++refused;
    }
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(accepted, 100);
  EXPECT_EQ(refused, 100);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 0);

  // The last valid config is the one serving.
  EXPECT_EQ(http_get(gateway.port(), "/v198").status, 200u);
  const auto metrics = http_get(gateway.port(), "/metrics").body;
  EXPECT_NE(metrics.find("gatewayd_config_reloads_total{result=\"failure\"}"), std::string::npos);
}

TEST(Lifecycle, FileChangeAndSighupReload) {
  DemoUpstream upstream("demo");
  GatewayProcess gateway({routes(0), services_for(upstream), {}, 1, true});
  ASSERT_EQ(http_get(gateway.port(), "/v7").status, 404u);
  gateway.write_routes(routes(7));
  // The inotify watcher reloads on its own: wait for the new route to appear.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  unsigned status = 0;
  while (std::chrono::steady_clock::now() < deadline &&
         (status = http_get(gateway.port(), "/v7").status) != 200) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, 200u);

  // A broken file is refused; the previous config keeps serving.
  gateway.write_routes(kBrokenRoutes);
  ASSERT_TRUE(gateway.process().signal(SIGHUP));
  EXPECT_EQ(admin_post(gateway.admin_port(), "/admin/reload").first, 400u);
  EXPECT_EQ(http_get(gateway.port(), "/v7").status, 200u);
}

TEST(Lifecycle, SigtermDrainsInFlightRequests) {
  DemoUpstream upstream("demo");
  GatewayProcess gateway({routes(0), services_for(upstream), {}, 2, true});
  constexpr int kInFlight = 16;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  std::vector<std::unique_ptr<HttpConnection>> conns;
  for (int i = 0; i < kInFlight; ++i)
    conns.push_back(std::make_unique<HttpConnection>(gateway.port()));
  for (int i = 0; i < kInFlight; ++i) {
    clients.emplace_back([&, i] {
      HttpRequestSpec spec;
      spec.target = "/demo/delay/1500";
      if (conns[i]->request(spec).status == 200) ++ok;
    });
  }
  // Wait until every request is in flight (the gateway counts them; the scrape itself is one
  // more), then ask it to stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto m = http_get(gateway.port(), "/metrics").body;
    const std::string name = "\ngatewayd_requests_in_flight ";
    const auto pos = m.find(name);
    if (pos != std::string::npos && std::stod(m.substr(pos + name.size())) >= kInFlight + 1) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(gateway.process().signal(SIGTERM));
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), kInFlight);
  const auto status = gateway.process().wait_for(std::chrono::seconds(15));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->success()) << status->describe();
}

// Redis connections live on the worker loops; a SIGTERM must end them there, or the loops never
// run out of work and the process never exits. Both with Redis up and with Redis gone (the
// connections then sit in their reconnect back-off).
TEST(Lifecycle, SigtermEndsRedisConnectionsOfLimiterAndTokenStore) {
  for (const bool redis_down : {false, true}) {
    SCOPED_TRACE(redis_down ? "redis down at shutdown" : "redis up at shutdown");
    DemoUpstream upstream("demo");
    RedisServer redis;
    const std::string routes_yaml =
        "routes:\n  - path: /demo/**\n    service: demo\n    auth_required: false\n"
        "    strip_prefix: true\n    methods: [GET]\n    rate_limit: 100000\n";
    GatewayProcess gateway({routes_yaml,
                            services_for(upstream),
                            {{"RATE_LIMIT_ENABLED", "true"},
                             {"RATE_LIMIT_BACKEND", "redis"},
                             {"REDIS_ENABLED", "true"},
                             {"REDIS_HOST", redis.host()},
                             {"REDIS_PORT", std::to_string(redis.port())},
                             {"JWT_SECRET_KEY", "lifecycle-secret-0123456789abcdef0123456789"},
                             {"AUTH_TOKEN_CLIENT_SECRET", "lifecycle-client-secret"}},
                            2,
                            true});
    for (int i = 0; i < 4; ++i) {  // both workers' limiters decide in Redis
      const auto res = http_get(gateway.port(), "/demo/hello");
      ASSERT_EQ(res.status, 200u) << res.body;
      EXPECT_FALSE(res.header("X-RateLimit-Limit").empty());
    }
    HttpRequestSpec token;
    token.method = "POST";
    token.target = "/auth/token";
    token.headers = {{"Authorization", "Bearer lifecycle-client-secret"},
                     {"Content-Type", "application/json"}};
    token.body = R"({"sub":"user-1"})";
    const auto issued = http_request(gateway.port(), token);  // the token store uses Redis
    ASSERT_EQ(issued.status, 200u) << issued.body;
    if (redis_down) redis.stop();

    ASSERT_TRUE(gateway.process().signal(SIGTERM));
    const auto status = gateway.process().wait_for(std::chrono::seconds(20));
    ASSERT_TRUE(status.has_value()) << "gatewayd did not exit after SIGTERM";
    EXPECT_TRUE(status->success()) << status->describe();
  }
}

TEST(Lifecycle, CliUsageAndCheckConfig) {
  std::string out;
  auto st = run_command({gatewayd_binary(), "--bogus"}, std::chrono::seconds(10), &out);
  EXPECT_TRUE(st.exited);
  EXPECT_EQ(st.code, 2) << out;
  EXPECT_NE(out.find("--env"), std::string::npos);

  st = run_command({gatewayd_binary(), "--port", "notaport"}, std::chrono::seconds(10), &out);
  EXPECT_EQ(st.code, 2) << out;

  TempDir dir("gatewayd-cli");
  dir.write_file("config/routes.yaml", kBrokenRoutes);
  dir.write_file("config/services.yaml", "services: {}\n");
  st = run_command({gatewayd_binary(), "--check-config", "--config-dir", (dir / "config").string()},
                   std::chrono::seconds(10), &out);
  EXPECT_EQ(st.code, 1) << out;
  EXPECT_NE(out.find("routes.yaml"), std::string::npos) << out;
  EXPECT_NE(out.find("no-such-service"), std::string::npos) << out;

  dir.write_file("config/routes.yaml", routes(1));
  dir.write_file("config/services.yaml",
                 "services:\n  demo:\n    instances:\n      - url: http://127.0.0.1:1\n");
  st = run_command({gatewayd_binary(), "--check-config", "--config-dir", (dir / "config").string()},
                   std::chrono::seconds(10), &out);
  EXPECT_EQ(st.code, 0) << out;

  st = run_command({gatewayd_binary(), "--check-config", "--config-dir", (dir / "config").string()},
                   std::chrono::seconds(10), &out, {"PORT=abc"});
  EXPECT_EQ(st.code, 1) << out;
  EXPECT_NE(out.find("PORT"), std::string::npos) << out;
}

}  // namespace
}  // namespace gatewayd::test
