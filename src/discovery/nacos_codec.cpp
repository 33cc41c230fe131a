#include "discovery/nacos_codec.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"

namespace gatewayd::discovery {

namespace {

using nlohmann::json;

constexpr int kBeatInstanceMissing = 20404;

bool bool_member(const json& object, const char* key, bool fallback) {
  const auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) return it->get<std::string>() == "true";
  return fallback;
}

std::string metadata_json(const RegistrationOptions& reg) {
  json meta = json::object();
  for (const auto& [key, value] : reg.metadata) meta[key] = value;
  return meta.dump();
}

}  // namespace

std::optional<NacosInstanceList> parse_nacos_instances(std::string_view body, int api_version,
                                                       std::string* error) {
  const auto fail = [error](std::string why) -> std::optional<NacosInstanceList> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("nacos: response is not a JSON object");
  const json* data = &doc;
  if (api_version >= 2) {
    const auto code = doc.find("code");
    if (code == doc.end() || !code->is_number_integer()) {
      return fail("nacos: response has no code");
    }
    if (code->get<std::int64_t>() != 0) {
      const auto message = doc.find("message");
      return fail("nacos: code " + std::to_string(code->get<std::int64_t>()) +
                  (message != doc.end() && message->is_string()
                       ? " " + message->get<std::string>().substr(0, 200)
                       : std::string()));
    }
    const auto it = doc.find("data");
    if (it == doc.end() || !it->is_object()) return fail("nacos: response has no data object");
    data = &*it;
  }
  const auto hosts = data->find("hosts");
  if (hosts == data->end() || !(hosts->is_array() || hosts->is_null())) {
    return fail("nacos: response has no hosts array");
  }

  NacosInstanceList out;
  if (const auto cache = data->find("cacheMillis");
      cache != data->end() && cache->is_number_integer() && cache->get<std::int64_t>() > 0) {
    out.cache_millis = std::chrono::milliseconds(cache->get<std::int64_t>());
  }
  if (hosts->is_null()) return out;
  for (const auto& host : *hosts) {
    if (!host.is_object()) continue;
    if (!bool_member(host, "enabled", true)) continue;
    const auto ip = host.find("ip");
    const auto port = host.find("port");
    if (ip == host.end() || !ip->is_string() || ip->get<std::string>().empty()) continue;
    if (port == host.end() || !port->is_number_integer()) continue;
    const auto p = port->get<std::int64_t>();
    if (p <= 0 || p > 65535) continue;

    DiscoveredEndpoint e;
    e.address = ip->get<std::string>();
    e.port = static_cast<std::uint16_t>(p);
    e.healthy = bool_member(host, "healthy", true);
    e.weight = 1;
    if (const auto w = host.find("weight"); w != host.end() && w->is_number()) {
      const double weight = w->get<double>();
      if (!(weight > 0)) {
        e.weight = 0;
      } else {
        e.weight = static_cast<std::uint32_t>(std::max(1.0, std::min(std::round(weight), 1e6)));
      }
    }
    if (const auto meta = host.find("metadata"); meta != host.end() && meta->is_object()) {
      for (const auto& [key, value] : meta->items()) {
        e.metadata.emplace(key, value.is_string() ? value.get<std::string>() : value.dump());
      }
    }
    if (const auto cluster = host.find("clusterName");
        cluster != host.end() && cluster->is_string()) {
      e.metadata.emplace("cluster", cluster->get<std::string>());
    }
    if (const auto it = e.metadata.find("zone"); it != e.metadata.end()) e.zone = it->second;
    const auto secure = e.metadata.find("secure");
    const auto scheme = e.metadata.find("scheme");
    if ((secure != e.metadata.end() && secure->second == "true") ||
        (scheme != e.metadata.end() && scheme->second == "https")) {
      e.scheme = "https";
    }
    if (const auto id = host.find("instanceId"); id != host.end() && id->is_string()) {
      e.instance_id = id->get<std::string>();
    }
    e.assign_id();
    out.endpoints.push_back(std::move(e));
  }
  return out;
}

std::optional<NacosLogin> parse_nacos_login(std::string_view body) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto token = doc.find("accessToken");
  if (token == doc.end() || !token->is_string() || token->get<std::string>().empty()) {
    return std::nullopt;
  }
  NacosLogin out;
  out.access_token = token->get<std::string>();
  out.ttl = std::chrono::seconds(18'000);  // the server default when it does not say
  if (const auto ttl = doc.find("tokenTtl"); ttl != doc.end() && ttl->is_number_integer()) {
    out.ttl = std::chrono::seconds(std::max<std::int64_t>(1, ttl->get<std::int64_t>()));
  }
  return out;
}

std::optional<NacosBeat> parse_nacos_beat(std::string_view body) {
  if (body == "ok") return NacosBeat{};
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  NacosBeat out;
  if (const auto interval = doc.find("clientBeatInterval");
      interval != doc.end() && interval->is_number_integer() && interval->get<std::int64_t>() > 0) {
    out.client_beat_interval = std::chrono::milliseconds(interval->get<std::int64_t>());
  }
  if (const auto code = doc.find("code"); code != doc.end() && code->is_number_integer()) {
    out.instance_missing = code->get<std::int64_t>() == kBeatInstanceMissing;
  }
  return out;
}

std::string nacos_list_target(const NacosOptions& options, const std::string& service,
                              const std::string& access_token) {
  FormFields fields{{"serviceName", service},
                    {"namespaceId", options.namespace_id},
                    {"groupName", options.group}};
  if (!options.clusters.empty()) {
    fields.emplace_back(options.api_version >= 2 ? "clusterName" : "clusters", options.clusters);
  }
  fields.emplace_back("healthyOnly", "false");
  if (!access_token.empty()) fields.emplace_back("accessToken", access_token);
  const char* path =
      options.api_version >= 2 ? "/nacos/v2/ns/instance/list" : "/nacos/v1/ns/instance/list";
  return std::string(path) + "?" + form_encode(fields);
}

FormFields nacos_register_fields(const NacosOptions& nacos, const RegistrationOptions& reg) {
  return {{"serviceName", reg.service_name},
          {"ip", reg.address},
          {"port", std::to_string(reg.port)},
          {"namespaceId", nacos.namespace_id},
          {"groupName", nacos.group},
          {"weight", "1.0"},
          {"enabled", "true"},
          {"healthy", "true"},
          {"ephemeral", "true"},
          {"metadata", metadata_json(reg)}};
}

FormFields nacos_beat_fields(const NacosOptions& nacos, const RegistrationOptions& reg) {
  json beat = {{"serviceName", nacos.group + "@@" + reg.service_name},
               {"ip", reg.address},
               {"port", reg.port},
               {"cluster", "DEFAULT"},
               {"weight", 1.0},
               {"metadata", json::parse(metadata_json(reg))},
               {"scheduled", true}};
  return {{"serviceName", reg.service_name},
          {"ip", reg.address},
          {"port", std::to_string(reg.port)},
          {"namespaceId", nacos.namespace_id},
          {"groupName", nacos.group},
          {"ephemeral", "true"},
          {"beat", beat.dump()}};
}

FormFields nacos_deregister_fields(const NacosOptions& nacos, const RegistrationOptions& reg) {
  return {{"serviceName", reg.service_name},  {"ip", reg.address},
          {"port", std::to_string(reg.port)}, {"namespaceId", nacos.namespace_id},
          {"groupName", nacos.group},         {"ephemeral", "true"}};
}

}  // namespace gatewayd::discovery
