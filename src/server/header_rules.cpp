#include "server/header_rules.hpp"

#include <array>
#include <boost/beast/http/rfc7230.hpp>
#include <string>
#include <vector>

namespace gatewayd {

namespace http = boost::beast::http;

namespace {
constexpr std::array<std::string_view, 7> kHopByHop{
    "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding",
    "Upgrade"};
constexpr std::array<std::string_view, 4> kIdentity{"X-User-Id", "X-Roles", "X-Permissions",
                                                    "X-Auth-Method"};
}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

bool connection_has_token(const http::fields& fields, std::string_view token) {
  for (auto it = fields.find(http::field::connection); it != fields.end() &&
                                                       it->name() == http::field::connection;
       ++it) {
    for (auto t : http::token_list{it->value()}) {
      if (iequals(t, token)) return true;
    }
  }
  return false;
}

void strip_hop_by_hop(http::fields& fields, bool keep_upgrade) {
  // Collect the names listed in Connection first: they are hop-by-hop for this message.
  std::vector<std::string> listed;
  for (auto it = fields.find(http::field::connection);
       it != fields.end() && it->name() == http::field::connection; ++it) {
    for (auto t : http::token_list{it->value()}) {
      if (keep_upgrade && iequals(t, "upgrade")) continue;
      listed.emplace_back(t);
    }
  }
  for (const auto& name : listed) {
    if (iequals(name, "close") || iequals(name, "keep-alive")) continue;
    fields.erase(name);
  }
  for (auto name : kHopByHop) {
    if (keep_upgrade && (name == "Upgrade" || name == "Connection")) continue;
    fields.erase(name);
  }
  if (keep_upgrade) fields.set(http::field::connection, "upgrade");
}

void strip_identity_headers(http::fields& fields) {
  for (auto name : kIdentity) fields.erase(name);
}

void set_forwarded_headers(http::fields& fields, const ForwardedInfo& info) {
  std::string xff;
  if (info.peer_trusted) {
    for (auto it = fields.find("X-Forwarded-For");
         it != fields.end() && iequals(it->name_string(), "X-Forwarded-For"); ++it) {
      if (!xff.empty()) xff += ", ";
      xff.append(it->value().data(), it->value().size());
    }
  }
  if (!xff.empty()) xff += ", ";
  xff.append(info.client_ip.data(), info.client_ip.size());
  fields.set("X-Forwarded-For", xff);

  auto proto_it = fields.find("X-Forwarded-Proto");
  if (!info.peer_trusted || proto_it == fields.end()) fields.set("X-Forwarded-Proto", info.proto);
  auto host = fields[http::field::host];
  if (!info.peer_trusted || fields.find("X-Forwarded-Host") == fields.end()) {
    if (host.empty()) {
      fields.erase("X-Forwarded-Host");
    } else {
      fields.set("X-Forwarded-Host", host);
    }
  }
  fields.set("X-Request-Id", info.request_id);
}

bool is_upgrade_request(const http::fields& fields) {
  return fields.find(http::field::upgrade) != fields.end() &&
         connection_has_token(fields, "upgrade");
}

bool is_idempotent_method(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" ||
         m == "TRACE";
}

}  // namespace gatewayd
