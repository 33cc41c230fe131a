#include "discovery/consul_codec.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"

namespace gatewayd::discovery {

namespace {

using nlohmann::json;

std::string string_member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string service_path_segment(const std::string& service) {
  return url_encode(service);
}

}  // namespace

std::optional<std::vector<DiscoveredEndpoint>> parse_consul_health(std::string_view body,
                                                                   std::string* error) {
  const auto fail = [error](std::string why) -> std::optional<std::vector<DiscoveredEndpoint>> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return fail("consul: response is not JSON");
  if (doc.is_null()) doc = json::array();  // Consul answers `null` for an unknown service
  if (!doc.is_array()) return fail("consul: response is not an array");

  std::vector<DiscoveredEndpoint> out;
  out.reserve(doc.size());
  for (const auto& entry : doc) {
    if (!entry.is_object()) continue;
    const auto service_it = entry.find("Service");
    if (service_it == entry.end() || !service_it->is_object()) continue;
    const json& service = *service_it;
    const auto node_it = entry.find("Node");
    const json node = node_it != entry.end() && node_it->is_object() ? *node_it : json::object();

    DiscoveredEndpoint e;
    e.address = string_member(service, "Address");
    if (e.address.empty()) e.address = string_member(node, "Address");
    const auto port_it = service.find("Port");
    if (e.address.empty() || port_it == service.end() || !port_it->is_number_integer()) continue;
    const auto port = port_it->get<std::int64_t>();
    if (port <= 0 || port > 65535) continue;
    e.port = static_cast<std::uint16_t>(port);

    e.weight = 1;
    if (const auto weights = service.find("Weights");
        weights != service.end() && weights->is_object()) {
      const auto passing = weights->find("Passing");
      if (passing != weights->end() && passing->is_number_integer()) {
        const auto w = passing->get<std::int64_t>();
        e.weight = w < 0 ? 0 : static_cast<std::uint32_t>(std::min<std::int64_t>(w, 1'000'000));
      }
    }

    e.healthy = true;
    if (const auto checks = entry.find("Checks"); checks != entry.end() && checks->is_array()) {
      for (const auto& check : *checks) {
        if (check.is_object() && string_member(check, "Status") != "passing") e.healthy = false;
      }
    }

    if (const auto meta = service.find("Meta"); meta != service.end() && meta->is_object()) {
      for (const auto& [key, value] : meta->items()) {
        if (value.is_string()) e.metadata.emplace(key, value.get<std::string>());
      }
    }
    if (const auto tags = service.find("Tags"); tags != service.end() && tags->is_array()) {
      std::string joined;
      for (const auto& tag : *tags) {
        if (!tag.is_string()) continue;
        if (!joined.empty()) joined.push_back(',');
        joined += tag.get<std::string>();
      }
      if (!joined.empty()) e.metadata.emplace("tags", std::move(joined));
    }
    if (const auto it = e.metadata.find("zone"); it != e.metadata.end()) e.zone = it->second;
    if (const auto it = e.metadata.find("scheme");
        it != e.metadata.end() && it->second == "https") {
      e.scheme = "https";
    }
    e.instance_id = string_member(service, "ID");
    e.assign_id();
    out.push_back(std::move(e));
  }
  return out;
}

std::uint64_t next_consul_index(std::uint64_t previous, std::string_view header) noexcept {
  std::uint64_t index = 0;
  const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), index);
  if (header.empty() || ec != std::errc{} || end != header.data() + header.size()) return 0;
  if (index < previous) return 0;
  return index;
}

std::string consul_duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::string consul_health_target(const std::string& service, const std::string& datacenter,
                                 std::uint64_t index, std::chrono::milliseconds wait) {
  std::string target = "/v1/health/service/" + service_path_segment(service) + "?passing=true";
  if (!datacenter.empty()) target += "&dc=" + url_encode(datacenter);
  if (index > 0) target += "&index=" + std::to_string(index) + "&wait=" + consul_duration(wait);
  return target;
}

std::string consul_registration_body(const RegistrationOptions& options) {
  json meta = json::object();
  for (const auto& [key, value] : options.metadata) meta[key] = value;
  std::string host = options.address;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  json body = {
      {"ID", options.instance_id},
      {"Name", options.service_name},
      {"Address", options.address},
      {"Port", options.port},
      {"Meta", meta},
      {"Check",
       {{"HTTP", "http://" + host + ":" + std::to_string(options.port) + options.health_path},
        {"Method", "GET"},
        {"Interval", consul_duration(options.check_interval)},
        {"Timeout", consul_duration(options.check_timeout)},
        {"DeregisterCriticalServiceAfter", consul_duration(options.deregister_critical_after)}}},
  };
  return body.dump();
}

}  // namespace gatewayd::discovery
