#include "server/header_rules.hpp"

#include <array>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/container/small_vector.hpp>
#include <iterator>
#include <string>

namespace gatewayd {

namespace http = boost::beast::http;

namespace {
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
  for (auto it = fields.find(http::field::connection);
       it != fields.end() && it->name() == http::field::connection; ++it) {
    for (auto t : http::token_list{it->value()}) {
      if (iequals(t, token)) return true;
    }
  }
  return false;
}

void strip_hop_by_hop(http::fields& fields, bool keep_upgrade) {
  // One pass over the fields, on every proxied request and response: the fixed hop-by-hop set is
  // recognised by Beast's field code, names listed in Connection by comparison. The listed names
  // are views into the Connection values, so Connection itself goes last.
  boost::container::small_vector<std::string_view, 4> listed;
  for (auto it = fields.find(http::field::connection);
       it != fields.end() && it->name() == http::field::connection; ++it) {
    for (auto t : http::token_list{it->value()}) {
      if (keep_upgrade && iequals(t, "upgrade")) continue;
      if (iequals(t, "close") || iequals(t, "keep-alive")) continue;  // options, not names
      listed.emplace_back(t.data(), t.size());
    }
  }
  for (auto it = fields.begin(); it != fields.end();) {
    bool drop = false;
    switch (it->name()) {
      case http::field::keep_alive:
      case http::field::proxy_connection:
      case http::field::te:
      case http::field::trailer:
      case http::field::transfer_encoding:
        drop = true;
        break;
      case http::field::upgrade:
        drop = !keep_upgrade;
        break;
      case http::field::connection:
        break;
      default:
        for (const auto name : listed) {
          if (iequals(it->name_string(), name)) {
            drop = true;
            break;
          }
        }
    }
    it = drop ? fields.erase(it) : std::next(it);
  }
  if (keep_upgrade) {
    fields.set(http::field::connection, "upgrade");
  } else {
    fields.erase(http::field::connection);
  }
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
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

}  // namespace gatewayd
