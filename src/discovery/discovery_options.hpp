#pragma once
// Plain option structs for every discovery component, and the one function that fills them from
// Settings. Components take only their struct, so tests build them without a Settings.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "clients/http_client.hpp"

namespace gatewayd {
struct Settings;
}

namespace gatewayd::discovery {

struct BackoffOptions {
  std::chrono::milliseconds initial{250};
  std::chrono::milliseconds max{10'000};
  double multiplier = 2.0;
};

struct ConsulOptions {
  HttpEndpoint agent{"localhost", 8500};   // CONSUL_HOST, CONSUL_PORT
  std::string token;                       // CONSUL_TOKEN, sent as X-Consul-Token
  std::string datacenter;                  // CONSUL_DATACENTER, empty = the agent's
  std::chrono::milliseconds wait{60'000};  // blocking query wait= (CONSUL_WAIT_SECONDS)
  // Minimum time between two calls for one service, so an index reset or a flapping service
  // cannot turn the loop into a busy poll (CONSUL_MIN_INTERVAL_MS).
  std::chrono::milliseconds min_interval{1'000};
  std::chrono::milliseconds connect_timeout{2'000};
  // Added to wait (plus Consul's wait/16 jitter) for the read deadline of a blocking query.
  std::chrono::milliseconds request_timeout{5'000};
  BackoffOptions backoff;
};

struct NacosOptions {
  std::vector<HttpEndpoint> servers{{"localhost", 8848}};  // NACOS_SERVER_ADDRESSES
  std::string namespace_id = "public";                     // NACOS_NAMESPACE
  std::string group = "DEFAULT_GROUP";                     // NACOS_GROUP
  std::string clusters;                                    // NACOS_CLUSTERS, comma list
  std::string username, password;                          // NACOS_USERNAME, NACOS_PASSWORD
  int api_version = 1;                                     // NACOS_API_VERSION=v1|v2
  // The poll interval follows the server's cacheMillis within these bounds.
  std::chrono::milliseconds poll_min{1'000};   // NACOS_POLL_MIN_MS
  std::chrono::milliseconds poll_max{30'000};  // NACOS_POLL_MAX_MS
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds request_timeout{5'000};
  // The login token is refreshed this long before tokenTtl runs out (or at 3/4 of a short TTL).
  std::chrono::milliseconds token_refresh_margin{60'000};
  BackoffOptions backoff;
};

struct EtcdOptions {
  std::vector<HttpEndpoint> endpoints{{"127.0.0.1", 2379}};  // ETCD_ENDPOINTS
  std::string prefix = "/gatewayd/services/";                // ETCD_PREFIX
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds request_timeout{5'000};
  // A watch stream silent this long is reopened (with a re-list), which also catches a server
  // that vanished without closing the connection (ETCD_WATCH_IDLE_SECONDS).
  std::chrono::milliseconds watch_idle_timeout{300'000};
  BackoffOptions backoff;
  // Called on the control thread just before a watch is created, with the service and the
  // revision it will start from. An observation point (tests interleave writes here).
  std::function<void(const std::string& service, std::int64_t start_revision)> on_before_watch;
};

// Self-registration of the gateway (DISCOVERY_SELF_REGISTER).
struct RegistrationOptions {
  bool enabled = false;
  std::string service_name = "gatewayd";  // CLUSTER_NAME
  std::string instance_id;                // default "<service>-<address>-<port>"
  std::string address;                    // DISCOVERY_SELF_ADDRESS, default the host name
  std::uint16_t port = 8001;              // PORT
  std::string health_path = "/health";
  std::chrono::milliseconds check_interval{10'000};
  std::chrono::milliseconds check_timeout{5'000};
  // Consul removes the registration when its check stays critical this long.
  std::chrono::milliseconds deregister_critical_after{60'000};
  std::map<std::string, std::string> metadata;
  // Consul: how often the agent is asked whether it still has the registration.
  std::chrono::milliseconds refresh_interval{30'000};
  // Nacos heartbeat interval until the server announces clientBeatInterval.
  std::chrono::milliseconds heartbeat_interval{5'000};
};

struct DiscoveryOptions {
  std::string type = "static";  // SERVICE_DISCOVERY_TYPE: static | consul | nacos | etcd
  // Per-service override of `type` (DISCOVERY_SERVICE_TYPES=orders=consul,legacy=static).
  std::map<std::string, std::string> service_types;
  std::chrono::milliseconds startup_wait{5'000};  // DISCOVERY_STARTUP_WAIT_MS
  bool fallback_static = true;                    // DISCOVERY_FALLBACK_STATIC
  ConsulOptions consul;
  NacosOptions nacos;
  EtcdOptions etcd;
  RegistrationOptions registration;

  // The provider type of one service.
  const std::string& type_of(const std::string& service) const;
};

// Reads every discovery variable. Variables not (yet) declared in the settings table keep their
// defaults. Throws SettingsError for malformed values (naming the variable).
DiscoveryOptions discovery_options_from_settings(const Settings& settings);

}  // namespace gatewayd::discovery
