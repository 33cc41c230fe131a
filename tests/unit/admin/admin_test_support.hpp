#pragma once
// An in-process admin API for tests: a real AdminServer on a free port with register_admin_api,
// wired to a small fake app (config publishing, audit sink, callbacks) that records what the
// API asked of it.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/admin_api.hpp"
#include "admin/route_merge.hpp"
#include "support/http_client.hpp"

namespace gatewayd::test {

inline constexpr const char* kAdminToken = "admin-test-token";

// Keeps the audit records (and ignores the other record types).
class RecordingSink final : public RecordSink {
 public:
  void submit(Record record) noexcept override {
    if (auto* audit = std::get_if<AuditRecord>(&record)) {
      std::lock_guard lock(mutex_);
      audits_.push_back(std::move(*audit));
    }
  }
  std::vector<AuditRecord> audits() const {
    std::lock_guard lock(mutex_);
    return audits_;
  }
  std::vector<std::string> events() const {
    std::vector<std::string> out;
    for (const auto& a : audits()) out.push_back(a.event_type);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<AuditRecord> audits_;
};

// The parts of the app the admin API talks to.
class FakeApp {
 public:
  FakeApp();

  AdminApiDeps deps(std::optional<MySqlOptions> mysql);
  std::shared_ptr<const Config> config() const;
  std::optional<RouteConfig> route_named(const std::string& name) const;

  RecordingSink sink;
  std::atomic<int> rules_changed{0};
  std::atomic<int> api_keys_changed{0};
  std::atomic<int> publishes{0};
  std::atomic<bool> reject_publish{false};
  std::atomic<int> reloads{0};
  std::atomic<bool> reject_reload{false};
  std::vector<std::string> circuit_resets() const;

 private:
  std::shared_ptr<const Config> file_config_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Config> live_;
  nlohmann::json cors_;
  std::vector<std::string> circuit_resets_;
};

// Starts the admin server on a free loopback port.
class AdminHarness {
 public:
  AdminHarness(FakeApp& app, std::optional<MySqlOptions> mysql);
  ~AdminHarness();

  HttpResponse call(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& token = kAdminToken);
  std::uint16_t port() const { return server_->port(); }

 private:
  std::unique_ptr<AdminServer> server_;
};

// The body of a response as JSON (discarded when it is not JSON).
nlohmann::json json_of(const HttpResponse& response);

}  // namespace gatewayd::test
