#include "support/fake_consul.hpp"
// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>

namespace gatewayd::test {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// Consul durations: "10s", "250ms", "5m"; a bare number is seconds.
std::chrono::milliseconds parse_wait(const std::string& text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{}) return std::chrono::minutes(5);
  const std::string unit(end, text.data() + text.size());
  double ms = value * 1000;
  if (unit == "ms") ms = value;
  if (unit == "m") ms = value * 60'000;
  if (unit == "h") ms = value * 3'600'000;
  return std::min(std::chrono::milliseconds(static_cast<std::int64_t>(ms)),
                  std::chrono::milliseconds(std::chrono::minutes(10)));
}

FakeResponse text(unsigned status, std::string body) {
  return FakeResponse{status, std::move(body), "text/plain; charset=utf-8", {}};
}

}  // namespace

FakeConsul::FakeConsul()
    : server_([this](FakeRequest request) { return handle(std::move(request)); }) {
  server_.set_on_stop([this] {
    ++stop_generation_;
    for (auto* waiter : waiters_) static_cast<asio::steady_timer*>(waiter)->cancel();
  });
}

FakeConsul::~FakeConsul() {
  server_.stop();
}

void FakeConsul::set_token(std::string token) {
  std::lock_guard lock(mutex_);
  token_ = std::move(token);
}

void FakeConsul::touch(const std::string& service) {
  service_index_[service] = ++index_;
}

void FakeConsul::wake() {
  asio::post(server_.io(), [this] {
    for (auto* waiter : waiters_) static_cast<asio::steady_timer*>(waiter)->cancel();
  });
}

void FakeConsul::upsert(ConsulInstance instance) {
  {
    std::lock_guard lock(mutex_);
    const std::string service = instance.service;
    instances_[instance.id] = std::move(instance);
    touch(service);
  }
  wake();
}

bool FakeConsul::remove(const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    const auto it = instances_.find(id);
    if (it == instances_.end()) return false;
    const std::string service = it->second.service;
    instances_.erase(it);
    touch(service);
  }
  wake();
  return true;
}

bool FakeConsul::set_weight(const std::string& id, int passing) {
  {
    std::lock_guard lock(mutex_);
    const auto it = instances_.find(id);
    if (it == instances_.end()) return false;
    it->second.weight_passing = passing;
    touch(it->second.service);
  }
  wake();
  return true;
}

bool FakeConsul::set_status(const std::string& id, const std::string& status) {
  {
    std::lock_guard lock(mutex_);
    const auto it = instances_.find(id);
    if (it == instances_.end()) return false;
    it->second.status = status;
    touch(it->second.service);
  }
  wake();
  return true;
}

void FakeConsul::reset_indexes(std::uint64_t index) {
  {
    std::lock_guard lock(mutex_);
    index_ = index;
    for (auto& [service, value] : service_index_) value = index;
  }
  wake();
}

std::uint64_t FakeConsul::index_of(const std::string& service) const {
  std::lock_guard lock(mutex_);
  const auto it = service_index_.find(service);
  // An unknown service answers with the catalog's index, as Consul does.
  return it == service_index_.end() ? index_ : it->second;
}

std::uint64_t FakeConsul::health_calls(const std::string& service) const {
  std::lock_guard lock(mutex_);
  const auto it = health_calls_.find(service);
  return it == health_calls_.end() ? 0 : it->second;
}

std::vector<std::uint64_t> FakeConsul::indexes_seen(const std::string& service) const {
  std::lock_guard lock(mutex_);
  const auto it = indexes_seen_.find(service);
  return it == indexes_seen_.end() ? std::vector<std::uint64_t>{} : it->second;
}

std::uint64_t FakeConsul::forbidden_calls() const {
  std::lock_guard lock(mutex_);
  return forbidden_;
}

std::optional<json> FakeConsul::registration(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = registrations_.find(id);
  if (it == registrations_.end()) return std::nullopt;
  return it->second;
}

std::uint64_t FakeConsul::deregistrations() const {
  std::lock_guard lock(mutex_);
  return deregistrations_;
}

bool FakeConsul::forget_registration(const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    if (registrations_.erase(id) == 0) return false;
  }
  remove(id);
  return true;
}

json FakeConsul::health_body(const std::string& service, bool passing_only) const {
  json out = json::array();
  for (const auto& [id, inst] : instances_) {
    if (inst.service != service) continue;
    if (passing_only && inst.status != "passing") continue;
    const auto index = service_index_.count(service) ? service_index_.at(service) : index_;
    json meta = json::object();
    for (const auto& [k, v] : inst.meta) meta[k] = v;
    out.push_back({
        {"Node",
         {{"ID", "7c1e0d5a-3b7f-4e0a-9d3c-" + std::to_string(100000000000 + inst.node.size())},
          {"Node", inst.node},
          {"Address", inst.node_address},
          {"Datacenter", "dc1"},
          {"TaggedAddresses", {{"lan", inst.node_address}, {"wan", inst.node_address}}},
          {"Meta", {{"consul-network-segment", ""}}},
          {"CreateIndex", 5},
          {"ModifyIndex", 5}}},
        {"Service",
         {{"ID", inst.id},
          {"Service", inst.service},
          {"Tags", inst.tags},
          {"Address", inst.address},
          {"TaggedAddresses", json::object()},
          {"Meta", meta},
          {"Port", inst.port},
          {"Weights", {{"Passing", inst.weight_passing}, {"Warning", inst.weight_warning}}},
          {"EnableTagOverride", false},
          {"Proxy", {{"Mode", ""}, {"MeshGateway", json::object()}, {"Expose", json::object()}}},
          {"Connect", json::object()},
          {"CreateIndex", index},
          {"ModifyIndex", index}}},
        {"Checks", json::array({{{"Node", inst.node},
                                 {"CheckID", "serfHealth"},
                                 {"Name", "Serf Health Status"},
                                 {"Status", "passing"},
                                 {"Notes", ""},
                                 {"Output", "Agent alive and reachable"},
                                 {"ServiceID", ""},
                                 {"ServiceName", ""},
                                 {"ServiceTags", json::array()},
                                 {"Type", ""},
                                 {"CreateIndex", 5},
                                 {"ModifyIndex", 5}},
                                {{"Node", inst.node},
                                 {"CheckID", "service:" + inst.id},
                                 {"Name", "Service '" + inst.service + "' check"},
                                 {"Status", inst.status},
                                 {"Notes", ""},
                                 {"Output", ""},
                                 {"ServiceID", inst.id},
                                 {"ServiceName", inst.service},
                                 {"ServiceTags", inst.tags},
                                 {"Type", "http"},
                                 {"CreateIndex", index},
                                 {"ModifyIndex", index}}})},
    });
  }
  return out;
}

asio::awaitable<FakeResponse> FakeConsul::handle(FakeRequest request) {
  {
    std::lock_guard lock(mutex_);
    if (!token_.empty() && request.header("X-Consul-Token") != token_) {
      ++forbidden_;
      co_return text(403, "Permission denied");
    }
  }
  const std::string& path = request.path;
  constexpr std::string_view kHealth = "/v1/health/service/";
  constexpr std::string_view kDeregister = "/v1/agent/service/deregister/";
  constexpr std::string_view kAgentService = "/v1/agent/service/";
  if (path.starts_with(kHealth)) {
    if (request.method != "GET") co_return text(405, "method not allowed");
    std::string service = path.substr(kHealth.size());
    co_return co_await health(std::move(request), std::move(service));
  }
  if (path == "/v1/agent/service/register") {
    if (request.method != "PUT") co_return text(405, "method not allowed");
    const json body = json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("Name")) {
      co_return text(400, "Request decode failed");
    }
    ConsulInstance inst;
    inst.service = body.value("Name", "");
    inst.id = body.value("ID", inst.service);
    inst.address = body.value("Address", "");
    inst.port = static_cast<std::uint16_t>(body.value("Port", 0));
    // An HTTP check starts critical until its first run, as in Consul.
    inst.status = body.contains("Check") ? "critical" : "passing";
    if (body.contains("Meta") && body["Meta"].is_object()) {
      for (const auto& [k, v] : body["Meta"].items()) {
        if (v.is_string()) inst.meta[k] = v.get<std::string>();
      }
    }
    {
      std::lock_guard lock(mutex_);
      registrations_[inst.id] = body;
    }
    upsert(std::move(inst));
    co_return text(200, "");
  }
  if (path.starts_with(kDeregister)) {
    if (request.method != "PUT") co_return text(405, "method not allowed");
    const std::string id = path.substr(kDeregister.size());
    bool known = false;
    {
      std::lock_guard lock(mutex_);
      known = registrations_.erase(id) > 0;
      if (known) ++deregistrations_;
    }
    if (!known) co_return text(404, "Unknown service ID \"" + id + "\"");
    remove(id);
    co_return text(200, "");
  }
  if (path.starts_with(kAgentService)) {
    if (request.method != "GET") co_return text(405, "method not allowed");
    const std::string id = path.substr(kAgentService.size());
    std::lock_guard lock(mutex_);
    const auto it = registrations_.find(id);
    if (it == registrations_.end()) co_return text(404, "unknown service ID: " + id);
    json out = {{"ID", id},
                {"Service", it->second.value("Name", "")},
                {"Address", it->second.value("Address", "")},
                {"Port", it->second.value("Port", 0)},
                {"Meta", it->second.value("Meta", json::object())},
                {"Weights", {{"Passing", 1}, {"Warning", 1}}}};
    co_return FakeResponse{200, out.dump(), "application/json", {}};
  }
  co_return text(404, "404 page not found");
}

asio::awaitable<FakeResponse> FakeConsul::health(FakeRequest request, std::string service) {
  std::uint64_t min_index = 0;
  if (const auto v = request.param("index"); !v.empty()) {
    std::from_chars(v.data(), v.data() + v.size(), min_index);
  }
  {
    std::lock_guard lock(mutex_);
    ++health_calls_[service];
    indexes_seen_[service].push_back(min_index);
  }
  if (min_index > 0) {
    const auto deadline = std::chrono::steady_clock::now() + parse_wait(request.param("wait"));
    const auto generation = stop_generation_;
    asio::steady_timer timer(server_.io());
    while (index_of(service) <= min_index && std::chrono::steady_clock::now() < deadline &&
           generation == stop_generation_) {
      timer.expires_at(deadline);
      waiters_.insert(&timer);
      ++held_;
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      --held_;
      waiters_.erase(&timer);
    }
  }
  std::string body;
  std::uint64_t index = 0;
  {
    std::lock_guard lock(mutex_);
    body = health_body(service,
                       request.query.count("passing") > 0 && request.param("passing") != "false")
               .dump();
    index = service_index_.count(service) ? service_index_.at(service) : index_;
  }
  co_return FakeResponse{200,
                         std::move(body),
                         "application/json",
                         {{"X-Consul-Index", std::to_string(index)},
                          {"X-Consul-Knownleader", "true"},
                          {"X-Consul-Lastcontact", "0"}}};
}

}  // namespace gatewayd::test
