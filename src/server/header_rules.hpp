#pragma once
// Header rewriting rules of the proxy, kept free of I/O so they are unit-testable.
#include <boost/beast/http/fields.hpp>
#include <string>
#include <string_view>

namespace gatewayd {

// Removes hop-by-hop fields (RFC 9110 7.6.1) and every field named in Connection.
// When `keep_upgrade` is set (a tunnelled Upgrade request/response), Connection: upgrade and
// Upgrade survive.
void strip_hop_by_hop(boost::beast::http::fields& fields, bool keep_upgrade = false);

// Removes identity headers only the gateway may set (X-User-Id, X-Roles, X-Permissions,
// X-Auth-Method): a client copy must never reach an upstream, on any route.
void strip_identity_headers(boost::beast::http::fields& fields);

struct ForwardedInfo {
  std::string_view client_ip;  // the peer address of the downstream connection
  bool peer_trusted = false;   // peer is in TRUSTED_PROXIES: keep its X-Forwarded-For chain
  std::string_view proto;      // "http" or "https"
  std::string_view request_id;
};

// Sets X-Forwarded-For / -Proto / -Host and X-Request-Id on a request going upstream.
// An untrusted peer's X-Forwarded-* values are replaced, never extended.
void set_forwarded_headers(boost::beast::http::fields& fields, const ForwardedInfo& info);

// True when the request asks for a protocol switch (Connection: upgrade + Upgrade).
bool is_upgrade_request(const boost::beast::http::fields& fields);

// True when Connection contains the token `token` (case-insensitive).
bool connection_has_token(const boost::beast::http::fields& fields, std::string_view token);

// Methods that RFC 9110 9.2.2 defines as idempotent.
bool is_idempotent_method(std::string_view method) noexcept;

// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace gatewayd
