#pragma once
// What a discovery provider knows about one service at one moment: an immutable, sorted list of
// endpoints. Sets are published as shared_ptr<const EndpointSet> and never change afterwards,
// so any thread may read one without locking and a request keeps the set it picked from.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gatewayd/config.hpp"

namespace gatewayd::discovery {

struct DiscoveredEndpoint {
  std::string address;  // host name or IP literal
  std::uint16_t port = 0;
  std::string scheme = "http";
  // 0 = draining: keep serving requests already on it, give it no new ones.
  std::uint32_t weight = 1;
  bool healthy = true;
  std::string zone;
  std::map<std::string, std::string> metadata;
  std::string id;           // "host:port", the key load balancers and pools use
  std::string instance_id;  // the backend's own id (Consul service ID, Nacos instanceId, etcd key)

  // Fills `id` from address and port.
  void assign_id();
  std::string url() const;  // scheme://host:port (IPv6 literals bracketed)
  // Would get new requests: healthy and not draining.
  bool pickable() const noexcept { return healthy && weight > 0; }

  friend bool operator==(const DiscoveredEndpoint&, const DiscoveredEndpoint&) = default;
};

class EndpointSet {
 public:
  // Sorts by id and keeps the first endpoint of each id (a backend listing one address twice).
  EndpointSet(std::string service, std::string source, std::vector<DiscoveredEndpoint> endpoints);

  const std::string& service() const noexcept { return service_; }
  // Who produced it: "static", "consul", "nacos", "etcd", "static-fallback".
  const std::string& source() const noexcept { return source_; }
  const std::vector<DiscoveredEndpoint>& endpoints() const noexcept { return endpoints_; }
  std::size_t size() const noexcept { return endpoints_.size(); }
  bool empty() const noexcept { return endpoints_.empty(); }
  std::size_t pickable_count() const noexcept;
  const DiscoveredEndpoint* find(std::string_view id) const noexcept;

  // Same endpoints with the same attributes (the source is not compared).
  bool same_endpoints(const EndpointSet& other) const noexcept {
    return endpoints_ == other.endpoints_;
  }

 private:
  std::string service_;
  std::string source_;
  std::vector<DiscoveredEndpoint> endpoints_;
};

using EndpointSetPtr = std::shared_ptr<const EndpointSet>;

// "http://host:port" / "https://host" / "host:port" into an endpoint with its id set; the port
// defaults to 80 or 443. nullopt when malformed or the scheme is neither http nor https.
std::optional<DiscoveredEndpoint> endpoint_from_url(std::string_view url);

// services.yaml instances as an endpoint set (source "static" unless given).
EndpointSetPtr endpoint_set_from_config(const ServiceConfig& service,
                                        std::string source = "static");

// The set as services.yaml-style instances, for building the upstream view of a service. A
// draining endpoint (weight 0) comes out with healthy=false, so it receives no new requests.
std::vector<InstanceConfig> to_instances(const EndpointSet& set);

// `base` with its instances replaced by the set's.
ServiceConfig with_endpoints(const ServiceConfig& base, const EndpointSet& set);

// Ids in `before` that are not in `after` (pools to drain), sorted. Either may be null.
std::vector<std::string> removed_ids(const EndpointSet* before, const EndpointSet* after);

}  // namespace gatewayd::discovery
