#include "clients/redis_options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "gatewayd/settings.hpp"

namespace gatewayd {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

const std::string* lookup(const Settings& settings, const char* name) {
  const auto it = settings.raw.find(name);
  if (it == settings.raw.end() || trim(it->second).empty()) return nullptr;
  return &it->second;
}

std::uint64_t parse_uint(const Settings& settings, const char* name, std::uint64_t fallback,
                         std::uint64_t max) {
  const std::string* value = lookup(settings, name);
  if (value == nullptr) return fallback;
  const std::string_view text = trim(*value);
  std::uint64_t out = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr != text.data() + text.size() || out > max) {
    throw SettingsError(std::string(name) + ": expected an integer between 0 and " +
                        std::to_string(max));
  }
  return out;
}

// Milliseconds: "250", "250ms", "2s".
std::chrono::milliseconds parse_ms(const Settings& settings, const char* name,
                                   std::chrono::milliseconds fallback) {
  const std::string* value = lookup(settings, name);
  if (value == nullptr) return fallback;
  std::string_view text = trim(*value);
  std::uint64_t scale = 1;
  if (text.ends_with("ms")) {
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    text.remove_suffix(1);
    scale = 1000;
  }
  std::uint64_t out = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr != text.data() + text.size() || out == 0 || out > 3'600'000) {
    throw SettingsError(std::string(name) + ": expected a positive duration in milliseconds");
  }
  return std::chrono::milliseconds(out * scale);
}

bool parse_bool(const Settings& settings, const char* name, bool fallback) {
  const std::string* value = lookup(settings, name);
  if (value == nullptr) return fallback;
  std::string v(trim(*value));
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  throw SettingsError(std::string(name) + ": expected true or false");
}

}  // namespace

std::string RedisEndpoint::str() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::optional<RedisEndpoint> RedisEndpoint::parse(std::string_view text) {
  text = trim(text);
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size()) {
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const auto [ptr, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 ||
      port > 65535 || host.empty()) {
    return std::nullopt;
  }
  return RedisEndpoint{std::string(host), static_cast<std::uint16_t>(port)};
}

RedisOptions redis_options_from_settings(const Settings& settings) {
  RedisOptions o;
  if (const auto* host = lookup(settings, "REDIS_HOST")) o.endpoint.host = std::string(trim(*host));
  o.endpoint.port = static_cast<std::uint16_t>(parse_uint(settings, "REDIS_PORT", 6379, 65535));
  if (o.endpoint.port == 0) throw SettingsError("REDIS_PORT: expected a port number");
  if (const auto* pw = lookup(settings, "REDIS_PASSWORD")) o.password = *pw;
  if (const auto* user = lookup(settings, "REDIS_USERNAME")) o.username = std::string(trim(*user));
  o.db = static_cast<unsigned>(parse_uint(settings, "REDIS_DB", 0, 1'000'000));
  o.cluster = parse_bool(settings, "REDIS_CLUSTER_ENABLED", false);
  if (o.cluster) {
    if (const auto* nodes = lookup(settings, "REDIS_CLUSTER_NODES")) {
      std::string_view rest = *nodes;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string_view item = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (item.empty()) continue;
        auto ep = RedisEndpoint::parse(item);
        if (!ep) throw SettingsError("REDIS_CLUSTER_NODES: malformed host:port entry");
        o.cluster_nodes.push_back(std::move(*ep));
      }
    }
    if (o.cluster_nodes.empty()) o.cluster_nodes.push_back(o.endpoint);
    if (const auto* pw = lookup(settings, "REDIS_CLUSTER_PASSWORD")) o.password = *pw;
    o.db = 0;  // clusters only have database 0
  }
  o.connect_timeout = parse_ms(settings, "REDIS_CONNECT_TIMEOUT_MS", o.connect_timeout);
  o.command_timeout = parse_ms(settings, "REDIS_TIMEOUT_MS", o.command_timeout);
  return o;
}

}  // namespace gatewayd
