#include "upstream/health_checker.hpp"

#include <map>
#include <string>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gatewayd/logging.hpp"
#include "upstream/fast_rng.hpp"
#include "upstream/health_probe.hpp"
#include "upstream/upstream_metrics.hpp"

namespace gatewayd::upstream {

namespace asio = boost::asio;

namespace {

// Everything below runs on the checker's executor only, so none of it needs locks.
struct ProbeTask {
  ProbeTask(asio::any_io_executor ex, std::string service_name, std::shared_ptr<Endpoint> ep,
            HealthCheckConfig cfg)
      : service(std::move(service_name)),
        endpoint(std::move(ep)),
        config(std::move(cfg)),
        timer(std::move(ex)),
        passed(&metric::health_check_results(service, endpoint->id(), "success")),
        failed(&metric::health_check_results(service, endpoint->id(), "failure")),
        healthy_gauge(&metric::endpoint_healthy(service, endpoint->id())) {}

  std::string service;
  std::shared_ptr<Endpoint> endpoint;
  HealthCheckConfig config;
  asio::steady_timer timer;
  std::shared_ptr<HealthProbe> probe;     // the probe in flight, if any
  std::shared_ptr<const TlsClients> tls;  // client settings for https endpoints
  std::string last_tls_failure;           // logged once per distinct reason in a failing streak
  bool stopped = false;
  unsigned successes = 0;
  unsigned failures = 0;
  metrics::Counter* passed;
  metrics::Counter* failed;
  metrics::Gauge* healthy_gauge;

  void stop() {
    stopped = true;
    timer.cancel();
    if (probe) probe->abort();
  }
};

void report_change(const ProbeTask& task, bool healthy, const ProbeResult& result,
                   RecordSink* sink) {
  const Endpoint& e = *task.endpoint;
  if (healthy) {
    logging::app().info("health check: {}/{} is healthy again ({} passing probes)", task.service,
                        e.id(), task.successes);
  } else {
    std::string last = result.error == ProbeResult::Error::kNone
                           ? "status " + std::to_string(result.status)
                           : std::string(probe_error_name(result.error));
    if (!result.detail.empty()) last += ": " + result.detail;
    logging::app().warn("health check: {}/{} is unhealthy ({} failed probes, last: {})",
                        task.service, e.id(), task.failures, last);
  }
  if (sink == nullptr) return;
  ServiceInstanceRecord record;
  record.service_name = task.service;
  record.instance_url = e.url().empty() ? e.scheme() + "://" + e.id() : e.url();
  record.instance_id = e.id();
  record.health_check_path = task.config.path;
  record.weight = e.weight();
  record.health_check_interval = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(task.config.interval).count());
  record.failure_count = task.failures;
  record.is_healthy = healthy;
  record.last_health_check = std::chrono::system_clock::now();
  sink->submit(std::move(record));
}

void apply_result(ProbeTask& task, const ProbeResult& result, RecordSink* sink) {
  Endpoint& e = *task.endpoint;
  const bool pass = result.error == ProbeResult::Error::kNone &&
                    HealthChecker::status_expected(task.config, result.status);
  if (result.error == ProbeResult::Error::kTls && result.detail != task.last_tls_failure) {
    // A certificate problem is worth a line of its own even while the failure count is still
    // below the threshold (or the endpoint is already unhealthy for another reason); repeats of
    // the same reason are not.
    logging::app().warn("health check: {}/{}: {}", task.service, e.id(), result.detail);
    task.last_tls_failure = result.detail;
  }
  if (pass) {
    task.last_tls_failure.clear();
    task.passed->inc();
    ++task.successes;
    task.failures = 0;
    if (!e.healthy() && task.successes >= std::max(1U, task.config.healthy_threshold)) {
      e.set_healthy(true);
      task.healthy_gauge->set(1.0);
      report_change(task, true, result, sink);
    }
  } else {
    task.failed->inc();
    ++task.failures;
    task.successes = 0;
    if (e.healthy() && task.failures >= std::max(1U, task.config.unhealthy_threshold)) {
      e.set_healthy(false);
      task.healthy_gauge->set(0.0);
      report_change(task, false, result, sink);
    }
  }
}

asio::awaitable<void> run_task(std::shared_ptr<ProbeTask> task, RecordSink* sink) {
  auto executor = co_await asio::this_coro::executor;
  while (!task->stopped) {
    const Endpoint& e = *task->endpoint;
    ProbeTarget target;
    target.host = e.host();
    target.port = e.port();
    target.path = task->config.path.empty() ? "/" : task->config.path;
    if (e.scheme() == "https") {
      // Without client settings the probe fails (kTls) rather than passing on a bare connect.
      target.tls = task->tls ? task->tls->for_service(task->service) : TlsClient{};
    }
    target.timeout = task->config.timeout;

    task->probe = std::make_shared<HealthProbe>(executor);
    const ProbeResult result = co_await task->probe->run(std::move(target));
    task->probe.reset();
    if (task->stopped) break;
    apply_result(*task, result, sink);

    // Up to 10% jitter keeps the probes of many endpoints from marching in step.
    auto wait = task->config.interval;
    wait += std::chrono::milliseconds(thread_rng().below(
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, wait.count() / 10)) + 1));
    task->timer.expires_after(wait);
    co_await task->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

struct HealthChecker::Impl {
  asio::any_io_executor executor;
  RecordSink* sink = nullptr;
  bool stopped = false;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<ProbeTask>> tasks;

  void apply(std::vector<std::shared_ptr<const ServiceEndpoints>> services,
             const std::shared_ptr<const TlsClients>& tls) {
    if (stopped) return;
    decltype(tasks) next;
    for (const auto& svc : services) {
      if (!svc) continue;
      const HealthCheckConfig& hc = svc->config().health_check;
      for (const auto& e : svc->endpoints()) {
        if (!hc.enabled) {
          e->set_healthy(true);
          continue;
        }
        auto key = std::make_pair(svc->name(), e->id());
        auto it = tasks.find(key);
        if (it != tasks.end() && it->second->endpoint == e) {
          it->second->config = hc;  // takes effect from the next probe
          it->second->tls = tls;
          next.emplace(std::move(key), std::move(it->second));
          tasks.erase(it);
          continue;
        }
        auto task = std::make_shared<ProbeTask>(executor, svc->name(), e, hc);
        task->tls = tls;
        task->healthy_gauge->set(e->healthy() ? 1.0 : 0.0);
        asio::co_spawn(executor, run_task(task, sink), [key](std::exception_ptr error) {
          if (!error) return;
          try {
            std::rethrow_exception(error);
          } catch (const std::exception& ex) {
            logging::error().error("health check loop for {}/{} failed: {}", key.first, key.second,
                                   ex.what());
          } catch (...) {
            logging::error().error("health check loop for {}/{} failed", key.first, key.second);
          }
        });
        next.emplace(std::move(key), std::move(task));
      }
    }
    for (auto& [key, task] : tasks) task->stop();
    tasks = std::move(next);
  }

  void stop_all() {
    stopped = true;
    for (auto& [key, task] : tasks) task->stop();
    tasks.clear();
  }
};

HealthChecker::HealthChecker(asio::any_io_executor executor, RecordSink* sink)
    : impl_(std::make_shared<Impl>()) {
  impl_->executor = std::move(executor);
  impl_->sink = sink;
}

HealthChecker::~HealthChecker() {
  stop();
}

void HealthChecker::update(std::vector<std::shared_ptr<const ServiceEndpoints>> services,
                           std::shared_ptr<const TlsClients> tls) {
  asio::post(impl_->executor,
             [impl = impl_, services = std::move(services), tls = std::move(tls)]() mutable {
               impl->apply(std::move(services), tls);
             });
}

void HealthChecker::stop() {
  asio::post(impl_->executor, [impl = impl_] { impl->stop_all(); });
}

bool HealthChecker::status_expected(const HealthCheckConfig& config, unsigned status) noexcept {
  if (config.expected_statuses.empty()) return status >= 200 && status <= 399;
  for (const auto& [low, high] : config.expected_statuses) {
    if (status >= low && status <= high) return true;
  }
  return false;
}

}  // namespace gatewayd::upstream
