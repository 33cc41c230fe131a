#pragma once
// Consul HTTP API shapes: the /v1/health/service/<name> answer, the blocking query index rules
// and the agent service registration body.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/discovery_options.hpp"
#include "discovery/endpoint_set.hpp"

namespace gatewayd::discovery {

// The JSON array of {Node, Service, Checks} entries. Address is Service.Address, or Node.Address
// when that is empty; weight is Service.Weights.Passing (1 when absent); healthy means every
// check is passing; Service.Meta becomes metadata (zone and scheme read from it), Service.ID the
// instance id. Entries without a usable address or port are skipped. nullopt (and `error`) when
// the body is not such an array.
std::optional<std::vector<DiscoveredEndpoint>> parse_consul_health(std::string_view body,
                                                                   std::string* error = nullptr);

// The index for the next blocking query, from the previous one and the X-Consul-Index header:
// reset to 0 (a plain, non-blocking query) when the header is missing or malformed, when the
// index went backwards (Consul restarted or lost its state) or when it is 0.
std::uint64_t next_consul_index(std::uint64_t previous, std::string_view header) noexcept;

// "/v1/health/service/<name>?passing=true[&dc=..][&index=N&wait=Ss]".
std::string consul_health_target(const std::string& service, const std::string& datacenter,
                                 std::uint64_t index, std::chrono::milliseconds wait);

// Consul duration text: "10s", "1500ms".
std::string consul_duration(std::chrono::milliseconds d);

// PUT /v1/agent/service/register body with an HTTP check on the gateway's health path.
std::string consul_registration_body(const RegistrationOptions& options);

}  // namespace gatewayd::discovery
