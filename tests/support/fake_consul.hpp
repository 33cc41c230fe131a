#pragma once
// A fake Consul agent speaking the documented HTTP API shapes gatewayd uses:
//   GET /v1/health/service/<name>[?passing=true][&index=N&wait=D]   blocking queries,
//   X-Consul-Index PUT /v1/agent/service/register                                  (JSON service
//   definition) PUT /v1/agent/service/deregister/<id> GET /v1/agent/service/<id>
// A blocking query is held until the service's index rises above `index` or `wait` passes.
// ACL: with a token set, calls without the right X-Consul-Token get 403.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/fake_http_server.hpp"

namespace gatewayd::test {

struct ConsulInstance {
  std::string id;       // Service.ID, unique
  std::string service;  // Service.Service
  std::string address;  // Service.Address ("" = use the node's address)
  std::uint16_t port = 0;
  std::string node = "node-1";
  std::string node_address = "127.0.0.1";
  int weight_passing = 1;  // Service.Weights.Passing
  int weight_warning = 1;
  std::string status = "passing";  // the service check: passing | warning | critical
  std::map<std::string, std::string> meta;
  std::vector<std::string> tags;
};

class FakeConsul {
 public:
  FakeConsul();
  ~FakeConsul();

  std::uint16_t port() const noexcept { return server_.port(); }
  FakeHttpServer& server() noexcept { return server_; }

  // ACL token every call must carry (empty = no ACLs).
  void set_token(std::string token);

  // Catalog changes; each bumps the service's index and wakes its blocking queries.
  void upsert(ConsulInstance instance);
  bool remove(const std::string& id);
  bool set_weight(const std::string& id, int passing);
  bool set_status(const std::string& id, const std::string& status);
  // Makes every index restart from `index` (a Consul whose state was rebuilt: indexes go
  // backwards) and wakes blocking queries.
  void reset_indexes(std::uint64_t index);

  std::uint64_t index_of(const std::string& service) const;

  // Kills / restarts the HTTP listener; the catalog is kept.
  void stop() { server_.stop(); }
  void start() { server_.start(); }

  // Observations.
  std::uint64_t health_calls(const std::string& service) const;
  // `index` query parameters seen for the service, in order (0 = none).
  std::vector<std::uint64_t> indexes_seen(const std::string& service) const;
  std::size_t held_queries() const noexcept { return held_.load(); }
  std::uint64_t forbidden_calls() const;
  // The last registration body for a service id (agent API), nullopt when not registered.
  std::optional<nlohmann::json> registration(const std::string& id) const;
  std::uint64_t deregistrations() const;
  // Drops an agent registration without a deregister call (an agent whose state was wiped).
  bool forget_registration(const std::string& id);

 private:
  boost::asio::awaitable<FakeResponse> handle(FakeRequest request);
  boost::asio::awaitable<FakeResponse> health(FakeRequest request, std::string service);
  nlohmann::json health_body(const std::string& service, bool passing_only) const;
  void touch(const std::string& service);  // under mutex_
  void wake();

  mutable std::mutex mutex_;
  std::string token_;
  std::map<std::string, ConsulInstance> instances_;  // by id
  std::map<std::string, std::uint64_t> service_index_;
  std::uint64_t index_ = 10;
  std::map<std::string, std::uint64_t> health_calls_;
  std::map<std::string, std::vector<std::uint64_t>> indexes_seen_;
  std::map<std::string, nlohmann::json> registrations_;
  std::uint64_t deregistrations_ = 0;
  std::uint64_t forbidden_ = 0;

  // Server thread only.
  std::set<void*> waiters_;  // steady_timer* of held queries
  std::uint64_t stop_generation_ = 0;
  std::atomic<std::size_t> held_{0};

  FakeHttpServer server_;  // last: stops before the state above goes away
};

}  // namespace gatewayd::test
