// Service discovery through the real binary, under load: gatewayd started with
// SERVICE_DISCOVERY_TYPE=consul (fake agent), nacos (fake server) or etcd (a real etcd), while
// concurrent keep-alive clients send a steady stream of requests. Endpoints are added, removed,
// re-weighted and marked unhealthy in the backend; every change must reach the load balancer
// without a single failed request. Then the backend is killed: traffic keeps flowing to the last
// known set and /ready says degraded; once it is back, /ready recovers and changes flow again.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/etcd_server.hpp"
#include "support/fake_consul.hpp"
#include "support/fake_http_server.hpp"
#include "support/fake_nacos.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"

namespace gatewayd::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using NameSet = std::set<std::string>;

constexpr const char* kService = "api";

// An upstream answering every request with its id.
class IdServer {
 public:
  explicit IdServer(std::string id)
      : id_(std::move(id)), server_([this](FakeRequest) -> boost::asio::awaitable<FakeResponse> {
          FakeResponse res;
          res.body = json{{"id", id_}}.dump();
          co_return res;
        }) {}
  const std::string& id() const noexcept { return id_; }
  std::uint16_t port() const noexcept { return server_.port(); }

 private:
  std::string id_;
  FakeHttpServer server_;
};

// What the test changes in a discovery backend, the same way for all three.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::map<std::string, std::string> env() const = 0;
  // Adds or replaces the instance `id` (on 127.0.0.1:port).
  virtual void put(const std::string& id, std::uint16_t port, int weight, bool healthy) = 0;
  virtual void remove(const std::string& id, std::uint16_t port) = 0;
  virtual void kill() = 0;
  virtual void restart() = 0;
};

class ConsulBackend final : public Backend {
 public:
  std::map<std::string, std::string> env() const override {
    return {{"SERVICE_DISCOVERY_TYPE", "consul"},
            {"CONSUL_HOST", "127.0.0.1"},
            {"CONSUL_PORT", std::to_string(consul_.port())},
            {"CONSUL_WAIT_SECONDS", "5"},
            {"CONSUL_MIN_INTERVAL_MS", "50"}};
  }
  void put(const std::string& id, std::uint16_t port, int weight, bool healthy) override {
    ConsulInstance inst;
    inst.id = id;
    inst.service = kService;
    inst.address = "127.0.0.1";
    inst.port = port;
    inst.weight_passing = weight;
    inst.status = healthy ? "passing" : "critical";
    consul_.upsert(std::move(inst));
  }
  void remove(const std::string& id, std::uint16_t) override { ASSERT_TRUE(consul_.remove(id)); }
  void kill() override { consul_.stop(); }
  void restart() override { consul_.start(); }

 private:
  FakeConsul consul_;
};

class NacosBackend final : public Backend {
 public:
  NacosBackend() { nacos_.set_cache_millis(100); }
  std::map<std::string, std::string> env() const override {
    return {{"SERVICE_DISCOVERY_TYPE", "nacos"},
            {"NACOS_SERVER_ADDRESSES", nacos_.address()},
            {"NACOS_POLL_MIN_MS", "100"},
            {"NACOS_POLL_MAX_MS", "200"}};
  }
  void put(const std::string&, std::uint16_t port, int weight, bool healthy) override {
    NacosInstance inst;
    inst.service = kService;
    inst.ip = "127.0.0.1";
    inst.port = port;
    inst.weight = weight;
    inst.healthy = healthy;
    nacos_.upsert(std::move(inst));
  }
  void remove(const std::string&, std::uint16_t port) override {
    ASSERT_TRUE(nacos_.remove(kService, "127.0.0.1", port));
  }
  void kill() override { nacos_.stop(); }
  void restart() override { nacos_.start(); }

 private:
  FakeNacos nacos_;
};

class EtcdBackend final : public Backend {
 public:
  static constexpr const char* kPrefix = "/gatewayd-it/services/";
  std::map<std::string, std::string> env() const override {
    return {{"SERVICE_DISCOVERY_TYPE", "etcd"},
            {"ETCD_ENDPOINTS", etcd_.url()},
            {"ETCD_PREFIX", kPrefix}};
  }
  void put(const std::string& id, std::uint16_t port, int weight, bool healthy) override {
    etcd_.put(key(id), json{{"url", "http://127.0.0.1:" + std::to_string(port)},
                            {"weight", weight},
                            {"healthy", healthy}}
                           .dump());
  }
  void remove(const std::string& id, std::uint16_t) override { etcd_.del(key(id)); }
  void kill() override { etcd_.stop(); }
  void restart() override { etcd_.start(); }

 private:
  static std::string key(const std::string& id) {
    return std::string(kPrefix) + kService + "/" + id;
  }
  EtcdServer etcd_;
};

// Concurrent keep-alive clients sending GET /api/x until stopped, recording which upstream
// answered each request and every failure.
class Load {
 public:
  Load(std::uint16_t port, int clients) {
    for (int i = 0; i < clients; ++i) {
      threads_.emplace_back([this, port] { run(port); });
    }
  }
  ~Load() { stop(); }

  void stop() {
    running_ = false;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  std::size_t answered() const {
    std::lock_guard lock(mutex_);
    return ids_.size();
  }
  std::uint64_t failures() const { return failures_.load(); }
  std::string first_failure() const {
    std::lock_guard lock(mutex_);
    return first_failure_;
  }
  // The upstream ids of the last `n` answers (fewer when there are not as many).
  std::vector<std::string> last(std::size_t n) const {
    std::lock_guard lock(mutex_);
    const std::size_t from = ids_.size() > n ? ids_.size() - n : 0;
    return {ids_.begin() + static_cast<std::ptrdiff_t>(from), ids_.end()};
  }

 private:
  void run(std::uint16_t port) {
    auto conn = std::make_unique<HttpConnection>(port);
    HttpRequestSpec spec;
    spec.target = "/api/x";
    while (running_) {
      const HttpResponse res = conn->request(spec);
      std::string id;
      if (res.status == 200) {
        const json body = json::parse(res.body, nullptr, false);
        if (body.is_object()) id = body.value("id", "");
      }
      if (id.empty()) {
        fail(std::to_string(res.status) + " " + res.error + " " + res.body);
      } else {
        std::lock_guard lock(mutex_);
        ids_.push_back(std::move(id));
      }
      if (!res.keep_alive || !conn->is_open()) conn = std::make_unique<HttpConnection>(port);
    }
  }
  void fail(std::string what) {
    std::lock_guard lock(mutex_);
    if (failures_.fetch_add(1) == 0) first_failure_ = std::move(what);
  }

  std::atomic<bool> running_{true};
  std::atomic<std::uint64_t> failures_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> ids_;
  std::string first_failure_;
  std::vector<std::thread> threads_;
};

std::string describe(const std::vector<std::string>& ids) {
  std::map<std::string, int> counts;
  for (const auto& id : ids) ++counts[id];
  std::string out;
  for (const auto& [id, n] : counts) out += id + "=" + std::to_string(n) + " ";
  return out;
}

json ready(std::uint16_t port) {
  const auto res = http_get(port, "/ready");
  const json body = json::parse(res.body, nullptr, false);
  return body.is_object() ? body : json::object();
}

// Sum of gatewayd_discovery_errors_total over its label sets.
double discovery_errors(std::uint16_t port) {
  const std::string text = http_get(port, "/metrics").body;
  const std::string name = "gatewayd_discovery_errors_total{";
  double sum = 0;
  for (std::size_t pos = text.find(name); pos != std::string::npos; pos = text.find(name, pos)) {
    const auto end = text.find('\n', pos);
    const auto space = text.rfind(' ', end);
    if ((pos == 0 || text[pos - 1] == '\n') && space != std::string::npos && space > pos) {
      sum += std::stod(text.substr(space + 1, end - space - 1));
    }
    pos = end == std::string::npos ? text.size() : end;
  }
  return sum;
}

class DiscoveryUnderLoad : public ::testing::Test {
 protected:
  // The last `window` answers come from exactly `expected`.
  void expect_traffic_to(const Load& load, const NameSet& expected, const char* step,
                         std::size_t window = 80) {
    const bool reached = eventually([&] {
      const auto ids = load.last(window);
      return ids.size() == window && NameSet(ids.begin(), ids.end()) == expected;
    });
    EXPECT_TRUE(reached) << step << ": last answers " << describe(load.last(window))
                         << gateway_->output();
  }

  void run_scenario(Backend& backend) {
    IdServer u1("u1"), u2("u2"), u3("u3");
    backend.put("u1", u1.port(), 1, true);
    backend.put("u2", u2.port(), 1, true);

    auto env = backend.env();
    env["DISCOVERY_STARTUP_WAIT_MS"] = "10000";
    gateway_ = std::make_unique<GatewayProcess>(
        GatewayOptions{"routes:\n  - path: /api/**\n    service: api\n    auth_required: false\n",
                       "services:\n  api:\n    load_balancer: weighted\n", env, 2, true});
    const std::uint16_t port = gateway_->port();
    ASSERT_TRUE(eventually([&] { return ready(port).value("status", "") == "ready"; }))
        << ready(port).dump() << gateway_->output();

    Load load(port, 4);
    expect_traffic_to(load, {"u1", "u2"}, "start");

    backend.put("u3", u3.port(), 1, true);
    expect_traffic_to(load, {"u1", "u2", "u3"}, "u3 added");

    backend.remove("u1", u1.port());
    expect_traffic_to(load, {"u2", "u3"}, "u1 removed");

    // Re-weighted 4:1, the smooth weighted round robin gives u3 about four answers in five.
    backend.put("u3", u3.port(), 4, true);
    const bool reweighted = eventually([&] {
      const auto ids = load.last(200);
      const auto heavy = std::count(ids.begin(), ids.end(), "u3");
      const auto light = std::count(ids.begin(), ids.end(), "u2");
      return ids.size() == 200 && light > 0 && heavy >= 3 * light;
    });
    EXPECT_TRUE(reweighted) << "u3 re-weighted: " << describe(load.last(200));

    backend.put("u2", u2.port(), 1, false);
    expect_traffic_to(load, {"u3"}, "u2 unhealthy");
    backend.put("u2", u2.port(), 1, true);
    expect_traffic_to(load, {"u2", "u3"}, "u2 healthy again");

    // The backend dies: the last known set keeps serving, /ready says degraded.
    const double errors_before = discovery_errors(port);
    backend.kill();
    EXPECT_TRUE(eventually([&] {
      const json r = ready(port);
      return r.value("status", "") == "degraded" &&
             r["checks"].value("discovery", "").starts_with("degraded");
    })) << ready(port).dump();
    EXPECT_GT(discovery_errors(port), errors_before);
    const std::size_t at_kill = load.answered();
    EXPECT_TRUE(eventually([&] { return load.answered() >= at_kill + 400; }))
        << "traffic stopped while discovery was down";
    expect_traffic_to(load, {"u2", "u3"}, "backend down");

    // Back: /ready recovers and changes flow again.
    backend.restart();
    EXPECT_TRUE(eventually([&] { return ready(port).value("status", "") == "ready"; }))
        << ready(port).dump();
    backend.remove("u3", u3.port());
    expect_traffic_to(load, {"u2"}, "u3 removed after the restart");

    load.stop();
    EXPECT_EQ(load.failures(), 0u) << load.first_failure();
    EXPECT_GT(load.answered(), 1000u);
    EXPECT_TRUE(gateway_->stop().success()) << gateway_->output();
  }

  std::unique_ptr<GatewayProcess> gateway_;
};

TEST_F(DiscoveryUnderLoad, Consul) {
  ConsulBackend backend;
  run_scenario(backend);
}

TEST_F(DiscoveryUnderLoad, Nacos) {
  NacosBackend backend;
  run_scenario(backend);
}

TEST_F(DiscoveryUnderLoad, Etcd) {
  if (!etcd_installed()) GTEST_SKIP() << "etcd is not installed (Debian package etcd-server)";
  EtcdBackend backend;
  run_scenario(backend);
}

}  // namespace
}  // namespace gatewayd::test
