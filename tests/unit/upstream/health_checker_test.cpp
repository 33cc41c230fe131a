#include "upstream/health_checker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "test_helpers.hpp"
#include "upstream/health_probe.hpp"
#include "upstream/upstream_metrics.hpp"

namespace gatewayd::upstream {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

// A real HTTP server on a loopback port whose answer the test switches at will.
class SwitchableServer {
 public:
  SwitchableServer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SwitchableServer() {
    asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      io_.stop();
    });
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  void set_status(unsigned status) { status_ = status; }
  std::uint64_t answered(unsigned status) const {
    return status == 200 ? ok_count_.load() : other_count_.load();
  }
  std::uint64_t requests() const { return ok_count_.load() + other_count_.load(); }
  std::string last_target() const {
    std::lock_guard lock(mutex_);
    return last_target_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }
  asio::awaitable<void> serve(tcp::socket socket) {
    boost::beast::flat_buffer buffer;
    http::request<http::empty_body> request;
    auto [ec, n] =
        co_await http::async_read(socket, buffer, request, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    {
      std::lock_guard lock(mutex_);
      last_target_ = std::string(request.target());
    }
    const unsigned status = status_.load();
    http::response<http::string_body> response{static_cast<http::status>(status), 11};
    response.body() = "state";
    response.prepare_payload();
    response.keep_alive(false);
    // Counted before the write: the prober may act on the answer before this coroutine resumes.
    (status == 200 ? ok_count_ : other_count_).fetch_add(1);
    co_await http::async_write(socket, response, asio::as_tuple(asio::use_awaitable));
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<unsigned> status_{200};
  std::atomic<std::uint64_t> ok_count_{0}, other_count_{0};
  mutable std::mutex mutex_;
  std::string last_target_;
};

// Polls `condition` until it holds or `limit` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

class CountingSink final : public RecordSink {
 public:
  void submit(Record record) noexcept override {
    if (auto* r = std::get_if<ServiceInstanceRecord>(&record)) {
      std::lock_guard lock(mutex_);
      records_.push_back(*r);
    }
  }
  std::vector<ServiceInstanceRecord> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<ServiceInstanceRecord> records_;
};

class HealthCheckerTest : public ::testing::Test {
 protected:
  HealthCheckerTest() : work_(asio::make_work_guard(control_)) {
    thread_ = std::thread([this] { control_.run(); });
  }
  ~HealthCheckerTest() override {
    checker_.reset();
    work_.reset();
    control_.stop();
    thread_.join();
  }

  ServiceConfig service(const std::string& name, std::uint16_t port) {
    ServiceConfig c;
    c.name = name;
    c.instances = {test::instance("127.0.0.1", port)};
    c.health_check.enabled = true;
    c.health_check.path = "/healthz";
    c.health_check.interval = 10ms;
    c.health_check.timeout = 2s;
    c.health_check.healthy_threshold = 2;
    c.health_check.unhealthy_threshold = 3;
    return c;
  }
  HealthChecker& checker() {
    if (!checker_) checker_ = std::make_unique<HealthChecker>(control_.get_executor(), &sink_);
    return *checker_;
  }

  asio::io_context control_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  EndpointRegistry registry_;
  CountingSink sink_;
  std::unique_ptr<HealthChecker> checker_;
};

TEST_F(HealthCheckerTest, ThresholdsMoveTheEndpointBetweenHealthyAndUnhealthy) {
  SwitchableServer server;
  auto svc = ServiceEndpoints::build(registry_, service("hc-flip", server.port()));
  Endpoint& e = *svc->endpoints()[0];
  auto& failures = metric::health_check_results("hc-flip", e.id(), "failure");
  auto& successes = metric::health_check_results("hc-flip", e.id(), "success");
  checker().update({svc});

  ASSERT_TRUE(eventually([&] { return server.answered(200) >= 2; }));
  EXPECT_TRUE(e.healthy());
  EXPECT_EQ(server.last_target(), "/healthz");

  server.set_status(500);
  // The record is submitted right after the verdict changes; waiting for it (under the sink's
  // lock) also makes everything the checker did before it visible here.
  ASSERT_TRUE(eventually([&] { return sink_.records().size() >= 1; }));
  EXPECT_FALSE(e.healthy());
  auto records = sink_.records();
  EXPECT_FALSE(records[0].is_healthy);
  // It took unhealthy_threshold failing probes in a row, not one.
  EXPECT_EQ(records[0].failure_count, 3U);
  EXPECT_GE(failures.value(), 3U);
  EXPECT_FALSE(svc->has_healthy_endpoint());
  EXPECT_FALSE(svc->select({}));

  const auto successes_before = successes.value();
  server.set_status(200);
  ASSERT_TRUE(eventually([&] { return sink_.records().size() >= 2; }));
  EXPECT_TRUE(e.healthy());
  EXPECT_GE(successes.value() - successes_before, 2U);
  EXPECT_TRUE(svc->has_healthy_endpoint());

  records = sink_.records();
  ASSERT_EQ(records.size(), 2U);
  EXPECT_TRUE(records[1].is_healthy);
  EXPECT_EQ(records[1].failure_count, 0U);
  EXPECT_EQ(records[0].service_name, "hc-flip");
  EXPECT_EQ(records[0].instance_id, e.id());
  EXPECT_EQ(records[0].health_check_path, "/healthz");
}

TEST_F(HealthCheckerTest, RefusedConnectionsMakeItUnhealthy) {
  std::uint16_t port = 0;
  {
    // A port that was free a moment ago and has nobody listening now.
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  auto svc = ServiceEndpoints::build(registry_, service("hc-refused", port));
  checker().update({svc});
  ASSERT_TRUE(eventually([&] { return !svc->endpoints()[0]->healthy(); }));
}

TEST_F(HealthCheckerTest, ExpectedStatusesAreConfigurable) {
  SwitchableServer server;
  server.set_status(302);
  auto cfg = service("hc-expect", server.port());
  cfg.health_check.expected_statuses = {{200, 204}};
  cfg.health_check.unhealthy_threshold = 1;
  auto svc = ServiceEndpoints::build(registry_, cfg);
  checker().update({svc});
  ASSERT_TRUE(eventually([&] { return !svc->endpoints()[0]->healthy(); }));
  EXPECT_GE(server.answered(302), 1U);

  EXPECT_TRUE(HealthChecker::status_expected(HealthCheckConfig{}, 200));
  EXPECT_TRUE(HealthChecker::status_expected(HealthCheckConfig{}, 399));
  EXPECT_FALSE(HealthChecker::status_expected(HealthCheckConfig{}, 404));
  EXPECT_FALSE(HealthChecker::status_expected(HealthCheckConfig{}, 500));
  HealthCheckConfig two;
  two.expected_statuses = {{200, 200}, {418, 418}};
  EXPECT_TRUE(HealthChecker::status_expected(two, 418));
  EXPECT_FALSE(HealthChecker::status_expected(two, 201));
}

TEST_F(HealthCheckerTest, DisablingTheCheckStopsProbingAndRestoresHealth) {
  SwitchableServer server;
  server.set_status(503);
  auto cfg = service("hc-disable", server.port());
  cfg.health_check.unhealthy_threshold = 1;
  auto svc = ServiceEndpoints::build(registry_, cfg);
  checker().update({svc});
  ASSERT_TRUE(eventually([&] { return !svc->endpoints()[0]->healthy(); }));

  cfg.health_check.enabled = false;
  auto reloaded = ServiceEndpoints::build(registry_, cfg);
  checker().update({reloaded});
  EXPECT_TRUE(reloaded->endpoints()[0]->healthy());
  // Probing has stopped: once the update has been applied, the count stays put. A round trip
  // through the control loop proves the update ran; then give a stopped loop many intervals.
  std::atomic<bool> applied{false};
  asio::post(control_, [&] { applied = true; });
  ASSERT_TRUE(eventually([&] { return applied.load(); }));
  const auto count = server.requests();
  std::atomic<bool> later{false};
  asio::steady_timer timer(control_, 200ms);
  timer.async_wait([&](boost::system::error_code) { later = true; });
  ASSERT_TRUE(eventually([&] { return later.load(); }));
  EXPECT_LE(server.requests(), count + 1);  // at most a probe already in flight
  EXPECT_TRUE(reloaded->endpoints()[0]->healthy());
}

TEST_F(HealthCheckerTest, ReloadKeepsTheVerdictAndTheLoop) {
  SwitchableServer server;
  server.set_status(500);
  auto cfg = service("hc-reload", server.port());
  cfg.health_check.unhealthy_threshold = 1;
  auto v1 = ServiceEndpoints::build(registry_, cfg);
  checker().update({v1});
  ASSERT_TRUE(eventually([&] { return !v1->endpoints()[0]->healthy(); }));
  auto v2 = ServiceEndpoints::build(registry_, cfg);
  checker().update({v2});
  v1.reset();
  EXPECT_FALSE(v2->endpoints()[0]->healthy());
  server.set_status(200);
  ASSERT_TRUE(eventually([&] { return v2->endpoints()[0]->healthy(); }));
}

TEST_F(HealthCheckerTest, ProbeTimesOutOnASilentServer) {
  // Accepts connections but never answers.
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acceptor.listen();
  ProbeTarget target;
  target.host = "127.0.0.1";
  target.port = acceptor.local_endpoint().port();
  target.path = "/";
  target.timeout = 100ms;
  std::promise<ProbeResult> done;
  auto future = done.get_future();
  auto probe = std::make_shared<HealthProbe>(control_.get_executor());
  asio::co_spawn(control_, probe->run(target),
                 [&](std::exception_ptr, ProbeResult r) { done.set_value(r); });
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  const ProbeResult result = future.get();
  EXPECT_EQ(result.error, ProbeResult::Error::kTimeout);
  EXPECT_TRUE(result.connected);
}

}  // namespace
}  // namespace gatewayd::upstream
