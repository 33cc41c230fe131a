#pragma once
// A fake Nacos server speaking the open API shapes gatewayd uses:
//   POST   /nacos/v1/auth/login             username, password -> {"accessToken","tokenTtl",..}
//   GET    /nacos/v1/ns/instance/list       {"hosts":[...],"cacheMillis":N,...}
//   GET    /nacos/v2/ns/instance/list       {"code":0,"message":"success","data":{...}}
//   POST   /nacos/v1/ns/instance            register -> "ok"
//   PUT    /nacos/v1/ns/instance/beat       -> {"clientBeatInterval":N,"code":10200|20404,..}
//   DELETE /nacos/v1/ns/instance            -> "ok"
// Parameters are read from the query or a form body, as Nacos does. With credentials set,
// every call but login needs a valid, unexpired accessToken (403 otherwise).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "support/fake_http_server.hpp"

namespace gatewayd::test {

struct NacosInstance {
  std::string service;
  std::string ip;
  std::uint16_t port = 0;
  double weight = 1.0;
  bool healthy = true;
  bool enabled = true;
  bool ephemeral = true;
  std::string cluster = "DEFAULT";
  std::string group = "DEFAULT_GROUP";
  std::string namespace_id = "public";
  std::map<std::string, std::string> metadata;
};

class FakeNacos {
 public:
  FakeNacos();
  ~FakeNacos();

  std::uint16_t port() const noexcept { return server_.port(); }
  std::string address() const { return server_.address(); }
  FakeHttpServer& server() noexcept { return server_; }

  void set_credentials(std::string username, std::string password);
  void set_token_ttl(std::chrono::seconds ttl);
  void set_cache_millis(std::int64_t ms);
  void set_beat_interval(std::int64_t ms);
  // Tokens issued so far stop being accepted (as after a server-side key change).
  void revoke_tokens();

  void upsert(NacosInstance instance);
  bool remove(const std::string& service, const std::string& ip, std::uint16_t port);
  bool set_weight(const std::string& service, const std::string& ip, std::uint16_t port,
                  double weight);
  bool set_healthy(const std::string& service, const std::string& ip, std::uint16_t port,
                   bool healthy);
  bool set_enabled(const std::string& service, const std::string& ip, std::uint16_t port,
                   bool enabled);
  std::optional<NacosInstance> find(const std::string& service, const std::string& ip,
                                    std::uint16_t port) const;

  void stop() { server_.stop(); }
  void start() { server_.start(); }

  std::uint64_t logins() const;
  std::uint64_t list_calls(const std::string& path = "") const;  // "" = v1 and v2
  std::uint64_t list_calls_of(const std::string& service) const;
  std::uint64_t beats() const;
  std::uint64_t deregistrations() const;
  std::uint64_t forbidden_calls() const;
  // The parameters of the last call to `path`.
  std::map<std::string, std::string> last_params(const std::string& path) const;

 private:
  boost::asio::awaitable<FakeResponse> handle(FakeRequest request);
  FakeResponse list(const FakeRequest& request, int version);
  bool token_ok(const FakeRequest& request);  // under mutex_
  bool update(const std::string& service, const std::string& ip, std::uint16_t port,
              const std::function<void(NacosInstance&)>& change);
  static std::string key(const std::string& ns, const std::string& group,
                         const std::string& service, const std::string& ip, std::uint16_t port);

  mutable std::mutex mutex_;
  std::string username_, password_;
  std::chrono::seconds token_ttl_{18'000};
  std::int64_t cache_millis_ = 10'000;
  std::int64_t beat_interval_ = 5'000;
  std::map<std::string, std::chrono::steady_clock::time_point> tokens_;  // token -> expiry
  std::uint64_t token_counter_ = 0;
  std::map<std::string, NacosInstance> instances_;
  std::uint64_t logins_ = 0, beats_ = 0, deregistrations_ = 0, forbidden_ = 0;
  std::map<std::string, std::uint64_t> list_calls_;          // by path
  std::map<std::string, std::uint64_t> service_list_calls_;  // by service
  std::map<std::string, std::map<std::string, std::string>> last_params_;

  FakeHttpServer server_;  // last: stops before the state above goes away
};

}  // namespace gatewayd::test
