#include "support/fake_nacos.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

namespace gatewayd::test {

namespace asio = boost::asio;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kBeatOk = 10200;
constexpr int kInstanceMissing = 20404;

FakeResponse text(unsigned status, std::string body) {
  return FakeResponse{status, std::move(body), "text/plain;charset=UTF-8", {}};
}

FakeResponse json_response(unsigned status, const json& body) {
  return FakeResponse{status, body.dump(), "application/json;charset=UTF-8", {}};
}

// serviceName may come grouped ("GROUP@@name") or bare with groupName beside it.
std::pair<std::string, std::string> split_service(const FakeRequest& request) {
  std::string service = request.param("serviceName");
  std::string group = request.param("groupName");
  if (const auto at = service.find("@@"); at != std::string::npos) {
    group = service.substr(0, at);
    service = service.substr(at + 2);
  }
  if (group.empty()) group = "DEFAULT_GROUP";
  return {group, service};
}

std::string namespace_of(const FakeRequest& request) {
  const std::string ns = request.param("namespaceId");
  return ns.empty() ? "public" : ns;
}

std::uint16_t port_of(const FakeRequest& request) {
  const std::string p = request.param("port");
  unsigned v = 0;
  std::from_chars(p.data(), p.data() + p.size(), v);
  return static_cast<std::uint16_t>(v);
}

std::int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

FakeNacos::FakeNacos()
    : server_([this](FakeRequest request) { return handle(std::move(request)); }) {}

FakeNacos::~FakeNacos() {
  server_.stop();
}

std::string FakeNacos::key(const std::string& ns, const std::string& group,
                           const std::string& service, const std::string& ip, std::uint16_t port) {
  return ns + "|" + group + "@@" + service + "|" + ip + ":" + std::to_string(port);
}

void FakeNacos::set_credentials(std::string username, std::string password) {
  std::lock_guard lock(mutex_);
  username_ = std::move(username);
  password_ = std::move(password);
}

void FakeNacos::set_token_ttl(std::chrono::seconds ttl) {
  std::lock_guard lock(mutex_);
  token_ttl_ = ttl;
}

void FakeNacos::set_cache_millis(std::int64_t ms) {
  std::lock_guard lock(mutex_);
  cache_millis_ = ms;
}

void FakeNacos::set_beat_interval(std::int64_t ms) {
  std::lock_guard lock(mutex_);
  beat_interval_ = ms;
}

void FakeNacos::revoke_tokens() {
  std::lock_guard lock(mutex_);
  tokens_.clear();
}

void FakeNacos::upsert(NacosInstance instance) {
  std::lock_guard lock(mutex_);
  instances_[key(instance.namespace_id, instance.group, instance.service, instance.ip,
                 instance.port)] = std::move(instance);
}

bool FakeNacos::remove(const std::string& service, const std::string& ip, std::uint16_t port) {
  std::lock_guard lock(mutex_);
  for (auto it = instances_.begin(); it != instances_.end(); ++it) {
    if (it->second.service == service && it->second.ip == ip && it->second.port == port) {
      instances_.erase(it);
      return true;
    }
  }
  return false;
}

bool FakeNacos::update(const std::string& service, const std::string& ip, std::uint16_t port,
                       const std::function<void(NacosInstance&)>& change) {
  std::lock_guard lock(mutex_);
  for (auto& [k, inst] : instances_) {
    if (inst.service == service && inst.ip == ip && inst.port == port) {
      change(inst);
      return true;
    }
  }
  return false;
}

bool FakeNacos::set_weight(const std::string& service, const std::string& ip, std::uint16_t port,
                           double weight) {
  return update(service, ip, port, [weight](NacosInstance& i) { i.weight = weight; });
}

bool FakeNacos::set_healthy(const std::string& service, const std::string& ip, std::uint16_t port,
                            bool healthy) {
  return update(service, ip, port, [healthy](NacosInstance& i) { i.healthy = healthy; });
}

bool FakeNacos::set_enabled(const std::string& service, const std::string& ip, std::uint16_t port,
                            bool enabled) {
  return update(service, ip, port, [enabled](NacosInstance& i) { i.enabled = enabled; });
}

std::optional<NacosInstance> FakeNacos::find(const std::string& service, const std::string& ip,
                                             std::uint16_t port) const {
  std::lock_guard lock(mutex_);
  for (const auto& [k, inst] : instances_) {
    if (inst.service == service && inst.ip == ip && inst.port == port) return inst;
  }
  return std::nullopt;
}

std::uint64_t FakeNacos::logins() const {
  std::lock_guard lock(mutex_);
  return logins_;
}

std::uint64_t FakeNacos::list_calls(const std::string& path) const {
  std::lock_guard lock(mutex_);
  if (!path.empty()) {
    const auto it = list_calls_.find(path);
    return it == list_calls_.end() ? 0 : it->second;
  }
  std::uint64_t total = 0;
  for (const auto& [p, n] : list_calls_) total += n;
  return total;
}

std::uint64_t FakeNacos::list_calls_of(const std::string& service) const {
  std::lock_guard lock(mutex_);
  const auto it = service_list_calls_.find(service);
  return it == service_list_calls_.end() ? 0 : it->second;
}

std::uint64_t FakeNacos::beats() const {
  std::lock_guard lock(mutex_);
  return beats_;
}

std::uint64_t FakeNacos::deregistrations() const {
  std::lock_guard lock(mutex_);
  return deregistrations_;
}

std::uint64_t FakeNacos::forbidden_calls() const {
  std::lock_guard lock(mutex_);
  return forbidden_;
}

std::map<std::string, std::string> FakeNacos::last_params(const std::string& path) const {
  std::lock_guard lock(mutex_);
  const auto it = last_params_.find(path);
  return it == last_params_.end() ? std::map<std::string, std::string>{} : it->second;
}

bool FakeNacos::token_ok(const FakeRequest& request) {
  if (username_.empty()) return true;
  std::string token = request.param("accessToken");
  if (token.empty()) token = request.header("accessToken");
  const auto it = tokens_.find(token);
  return it != tokens_.end() && Clock::now() < it->second;
}

asio::awaitable<FakeResponse> FakeNacos::handle(FakeRequest request) {
  std::lock_guard lock(mutex_);
  auto params = request.query;
  for (const auto& [k, v] : request.form) params.emplace(k, v);
  last_params_[request.path] = params;

  if (request.path == "/nacos/v1/auth/login") {
    if (request.method != "POST") co_return text(405, "Request method not supported");
    ++logins_;
    if (username_.empty() || request.param("username") != username_ ||
        request.param("password") != password_) {
      co_return text(403, "unknown user!");
    }
    const std::string token = "fake-token-" + std::to_string(++token_counter_);
    tokens_[token] = Clock::now() + token_ttl_;
    co_return json_response(200, {{"accessToken", token},
                                  {"tokenTtl", token_ttl_.count()},
                                  {"globalAdmin", false},
                                  {"username", username_}});
  }

  const bool v1_list = request.path == "/nacos/v1/ns/instance/list";
  const bool v2_list = request.path == "/nacos/v2/ns/instance/list";
  if (!token_ok(request)) {
    ++forbidden_;
    if (v2_list) {
      co_return json_response(403,
                              {{"code", 403}, {"message", "token invalid!"}, {"data", nullptr}});
    }
    co_return text(403, "token invalid!");
  }

  if (v1_list || v2_list) {
    if (request.method != "GET") co_return text(405, "Request method not supported");
    ++list_calls_[request.path];
    ++service_list_calls_[split_service(request).second];
    co_return list(request, v2_list ? 2 : 1);
  }

  if (request.path == "/nacos/v1/ns/instance") {
    const auto [group, service] = split_service(request);
    const std::string ip = request.param("ip");
    const std::uint16_t port = port_of(request);
    if (service.empty() || ip.empty() || port == 0) {
      co_return text(400, "caused: Param 'serviceName', 'ip' or 'port' is required");
    }
    const std::string k = key(namespace_of(request), group, service, ip, port);
    if (request.method == "POST") {
      NacosInstance inst;
      inst.service = service;
      inst.group = group;
      inst.namespace_id = namespace_of(request);
      inst.ip = ip;
      inst.port = port;
      if (request.has_param("weight")) inst.weight = std::stod(request.param("weight"));
      if (request.has_param("enabled")) inst.enabled = request.param("enabled") != "false";
      if (request.has_param("healthy")) inst.healthy = request.param("healthy") != "false";
      if (request.has_param("ephemeral")) inst.ephemeral = request.param("ephemeral") != "false";
      if (request.has_param("clusterName")) inst.cluster = request.param("clusterName");
      if (request.has_param("metadata")) {
        const json meta = json::parse(request.param("metadata"), nullptr, false);
        if (meta.is_object()) {
          for (const auto& [mk, mv] : meta.items()) {
            inst.metadata[mk] = mv.is_string() ? mv.get<std::string>() : mv.dump();
          }
        }
      }
      instances_[k] = std::move(inst);
      co_return text(200, "ok");
    }
    if (request.method == "DELETE") {
      instances_.erase(k);
      ++deregistrations_;
      co_return text(200, "ok");
    }
    co_return text(405, "Request method not supported");
  }

  if (request.path == "/nacos/v1/ns/instance/beat") {
    if (request.method != "PUT") co_return text(405, "Request method not supported");
    const auto [group, service] = split_service(request);
    const std::string k =
        key(namespace_of(request), group, service, request.param("ip"), port_of(request));
    ++beats_;
    const bool known = instances_.count(k) > 0;
    co_return json_response(200, {{"clientBeatInterval", beat_interval_},
                                  {"code", known ? kBeatOk : kInstanceMissing},
                                  {"lightBeatEnabled", true}});
  }

  co_return text(404, "No message available");
}

FakeResponse FakeNacos::list(const FakeRequest& request, int version) {
  const auto [group, service] = split_service(request);
  const std::string ns = namespace_of(request);
  const std::string clusters = request.param(version == 2 ? "clusterName" : "clusters");
  const bool healthy_only = request.param("healthyOnly") == "true";
  json hosts = json::array();
  for (const auto& [k, inst] : instances_) {
    if (inst.namespace_id != ns || inst.group != group || inst.service != service) continue;
    if (!clusters.empty() &&
        ("," + clusters + ",").find("," + inst.cluster + ",") == std::string::npos) {
      continue;
    }
    if (healthy_only && !inst.healthy) continue;
    json meta = json::object();
    for (const auto& [mk, mv] : inst.metadata) meta[mk] = mv;
    hosts.push_back({{"instanceId", inst.ip + "#" + std::to_string(inst.port) + "#" + inst.cluster +
                                        "#" + group + "@@" + service},
                     {"ip", inst.ip},
                     {"port", inst.port},
                     {"weight", inst.weight},
                     {"healthy", inst.healthy},
                     {"enabled", inst.enabled},
                     {"ephemeral", inst.ephemeral},
                     {"clusterName", inst.cluster},
                     {"serviceName", group + "@@" + service},
                     {"metadata", meta},
                     {"instanceHeartBeatInterval", 5000},
                     {"instanceHeartBeatTimeOut", 15000},
                     {"ipDeleteTimeout", 30000},
                     {"instanceIdGenerator", "simple"}});
  }
  const json data = {{"name", group + "@@" + service},
                     {"groupName", group},
                     {"clusters", clusters},
                     {"cacheMillis", cache_millis_},
                     {"hosts", hosts},
                     {"lastRefTime", epoch_ms()},
                     {"checksum", ""},
                     {"allIPs", false},
                     {"reachProtectionThreshold", false},
                     {"valid", true}};
  if (version == 2) {
    return json_response(200, {{"code", 0}, {"message", "success"}, {"data", data}});
  }
  return json_response(200, data);
}

}  // namespace gatewayd::test
