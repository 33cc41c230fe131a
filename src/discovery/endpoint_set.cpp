#include "discovery/endpoint_set.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace gatewayd::discovery {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  out.append(":").append(std::to_string(port));
  return out;
}

}  // namespace

void DiscoveredEndpoint::assign_id() {
  id = host_port(address, port);
}

std::string DiscoveredEndpoint::url() const {
  return scheme + "://" + host_port(address, port);
}

EndpointSet::EndpointSet(std::string service, std::string source,
                         std::vector<DiscoveredEndpoint> endpoints)
    : service_(std::move(service)), source_(std::move(source)), endpoints_(std::move(endpoints)) {
  for (auto& e : endpoints_) {
    if (e.id.empty()) e.assign_id();
  }
  std::stable_sort(endpoints_.begin(), endpoints_.end(),
                   [](const auto& a, const auto& b) { return a.id < b.id; });
  endpoints_.erase(std::unique(endpoints_.begin(), endpoints_.end(),
                               [](const auto& a, const auto& b) { return a.id == b.id; }),
                   endpoints_.end());
}

std::size_t EndpointSet::pickable_count() const noexcept {
  return static_cast<std::size_t>(std::count_if(endpoints_.begin(), endpoints_.end(),
                                                [](const auto& e) { return e.pickable(); }));
}

const DiscoveredEndpoint* EndpointSet::find(std::string_view id) const noexcept {
  const auto it = std::lower_bound(endpoints_.begin(), endpoints_.end(), id,
                                   [](const auto& e, std::string_view key) { return e.id < key; });
  return it != endpoints_.end() && it->id == id ? &*it : nullptr;
}

std::optional<DiscoveredEndpoint> endpoint_from_url(std::string_view url) {
  DiscoveredEndpoint out;
  std::uint16_t default_port = 80;
  if (const auto pos = url.find("://"); pos != std::string_view::npos) {
    out.scheme = lower(url.substr(0, pos));
    if (out.scheme == "https") {
      default_port = 443;
    } else if (out.scheme != "http") {
      return std::nullopt;
    }
    url.remove_prefix(pos + 3);
  }
  if (const auto end = url.find_first_of("/?#"); end != std::string_view::npos) {
    url = url.substr(0, end);
  }
  if (url.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host = url;
  std::string_view port;
  if (!url.empty() && url.front() == '[') {
    const auto close = url.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = url.substr(1, close - 1);
    const auto rest = url.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else if (const auto colon = url.find(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
    if (port.empty()) return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  out.port = default_port;
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  out.address = std::string(host);
  out.assign_id();
  return out;
}

EndpointSetPtr endpoint_set_from_config(const ServiceConfig& service, std::string source) {
  std::vector<DiscoveredEndpoint> endpoints;
  endpoints.reserve(service.instances.size());
  for (const auto& instance : service.instances) {
    DiscoveredEndpoint e;
    e.address = instance.host;
    e.port = instance.port;
    e.scheme = instance.scheme.empty() ? "http" : instance.scheme;
    e.weight = instance.weight;
    e.healthy = instance.healthy;
    e.id = instance.id;
    if (e.id.empty()) e.assign_id();
    e.instance_id = e.id;
    endpoints.push_back(std::move(e));
  }
  return std::make_shared<const EndpointSet>(service.name, std::move(source), std::move(endpoints));
}

std::vector<InstanceConfig> to_instances(const EndpointSet& set) {
  std::vector<InstanceConfig> out;
  out.reserve(set.size());
  for (const auto& e : set.endpoints()) {
    InstanceConfig instance;
    instance.url = e.url();
    instance.scheme = e.scheme;
    instance.host = e.address;
    instance.port = e.port;
    instance.weight = e.weight == 0 ? 1 : e.weight;
    instance.healthy = e.pickable();
    instance.id = e.id;
    out.push_back(std::move(instance));
  }
  return out;
}

ServiceConfig with_endpoints(const ServiceConfig& base, const EndpointSet& set) {
  ServiceConfig out = base;
  out.instances = to_instances(set);
  return out;
}

std::vector<std::string> removed_ids(const EndpointSet* before, const EndpointSet* after) {
  std::vector<std::string> out;
  if (before == nullptr) return out;
  for (const auto& e : before->endpoints()) {
    if (after == nullptr || after->find(e.id) == nullptr) out.push_back(e.id);
  }
  return out;
}

}  // namespace gatewayd::discovery
