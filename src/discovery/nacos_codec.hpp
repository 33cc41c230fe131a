#pragma once
// Nacos open API shapes (v1 and v2 naming APIs): instance lists, login, heartbeat, and the
// request targets and forms of the calls gatewayd makes.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "discovery/discovery_options.hpp"
#include "discovery/endpoint_set.hpp"

namespace gatewayd::discovery {

struct NacosInstanceList {
  std::vector<DiscoveredEndpoint> endpoints;
  std::chrono::milliseconds cache_millis{0};  // 0 when the server did not say
};

// v1: {"hosts":[...],"cacheMillis":N,...}; v2: {"code":0,"message":"success","data":{same}}.
// Hosts with enabled=false are skipped; healthy is taken as reported (the server returns
// unhealthy hosts when its protection threshold trips, so callers must not trust the list to be
// healthy); weight is rounded to an integer, a positive weight to at least 1, 0 means draining.
std::optional<NacosInstanceList> parse_nacos_instances(std::string_view body, int api_version,
                                                       std::string* error = nullptr);

struct NacosLogin {
  std::string access_token;
  std::chrono::seconds ttl{0};
};
// {"accessToken":"...","tokenTtl":18000,"globalAdmin":false}
std::optional<NacosLogin> parse_nacos_login(std::string_view body);

struct NacosBeat {
  std::chrono::milliseconds client_beat_interval{0};  // 0 = keep the current interval
  bool instance_missing = false;                      // code 20404: register again
};
// {"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}, or "ok" from old servers.
std::optional<NacosBeat> parse_nacos_beat(std::string_view body);

// GET target of the instance list (healthyOnly=false: health is filtered locally).
std::string nacos_list_target(const NacosOptions& options, const std::string& service,
                              const std::string& access_token);

// Query fields of the self-registration calls.
using FormFields = std::vector<std::pair<std::string, std::string>>;
FormFields nacos_register_fields(const NacosOptions& nacos, const RegistrationOptions& reg);
FormFields nacos_beat_fields(const NacosOptions& nacos, const RegistrationOptions& reg);
FormFields nacos_deregister_fields(const NacosOptions& nacos, const RegistrationOptions& reg);

}  // namespace gatewayd::discovery
