#include "filters/rate_limit/client_identity.hpp"

#include <algorithm>

#include "clients/redis_script.hpp"

namespace gatewayd::ratelimit {

namespace ip = boost::asio::ip;

namespace {

constexpr std::size_t kMaxHops = 32;
constexpr std::size_t kMaxIdentityPart = 128;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

ip::address unmap(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

// One X-Forwarded-For entry: "1.2.3.4", "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]:443".
std::optional<ip::address> parse_hop(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 64) return std::nullopt;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    text = text.substr(1, close - 1);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    text = text.substr(0, text.find(':'));  // IPv4 with a port
  }
  boost::system::error_code ec;
  const auto addr = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return unmap(addr);
}

std::string bounded(std::string_view prefix, std::string_view value) {
  if (value.size() <= kMaxIdentityPart) return std::string(prefix) + std::string(value);
  return std::string(prefix) + "sha1:" + sha1_hex(value);
}

}  // namespace

std::string resolve_client_ip(const ip::address& peer, std::string_view x_forwarded_for,
                              const std::vector<Cidr>& trusted_proxies) {
  ip::address client = unmap(peer);
  if (x_forwarded_for.empty() || !cidr_list_contains(trusted_proxies, client)) {
    return client.to_string();
  }
  std::string_view rest = x_forwarded_for;
  for (std::size_t hops = 0; !rest.empty() && hops < kMaxHops; ++hops) {
    const auto comma = rest.rfind(',');
    const std::string_view entry = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    if (trim(entry).empty()) continue;
    const auto hop = parse_hop(entry);
    if (!hop) break;  // garbage: keep the trusted hop that reported it
    client = *hop;
    if (!cidr_list_contains(trusted_proxies, client)) break;
  }
  return client.to_string();
}

std::string bucket_identity(LimitType type, const CallerIdentity& caller) {
  switch (type) {
    case LimitType::kPerUser:
      if (caller.subject && !caller.subject->empty()) return bounded("user:", *caller.subject);
      break;
    case LimitType::kPerApiKey:
      if (caller.api_key_id && !caller.api_key_id->empty()) {
        return bounded("key:", *caller.api_key_id);
      }
      break;
    case LimitType::kPerCaller:
      if (caller.subject && !caller.subject->empty()) return bounded("user:", *caller.subject);
      if (caller.api_key_id && !caller.api_key_id->empty()) {
        return bounded("key:", *caller.api_key_id);
      }
      break;
    case LimitType::kPerEndpoint:
      return bounded("route:", caller.route_name);
    case LimitType::kGlobal:
      return "global";
    case LimitType::kPerIp:
      break;
  }
  return bounded("ip:", caller.client_ip);
}

}  // namespace gatewayd::ratelimit
