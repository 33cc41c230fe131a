#pragma once
// Who is calling, for choosing buckets. Only verified identities choose a bucket: the principal
// subject set by JWT verification and the id of an API key that matched a stored hash. Unverified
// values (a key that did not match, a token that failed, a name from a body) never do; such
// callers are limited by IP, otherwise rotating values would escape the limit or lock a real user
// out.
//
// Client IP: the TCP peer, unless the peer is a trusted proxy (TRUSTED_PROXIES). Then
// X-Forwarded-For is walked from the right (the entry appended by the nearest proxy) to the
// left, skipping trusted proxies; the first untrusted address is the client. The left-most entry
// is whatever the client chose to send and is never believed on its own: a client can put any
// address there, and a trusted proxy only appends to what it received. When every entry is
// trusted, the left-most one is used; an unparsable entry stops the walk at the trusted hop to its
// right.
#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.hpp"
#include "filters/rate_limit/rate_limit_rule.hpp"

namespace gatewayd::ratelimit {

// `x_forwarded_for`: every X-Forwarded-For field of the request joined with ',' in order
// (empty when absent). Returns the canonical text of the client address (IPv4-mapped IPv6
// addresses as IPv4).
std::string resolve_client_ip(const boost::asio::ip::address& peer,
                              std::string_view x_forwarded_for,
                              const std::vector<Cidr>& trusted_proxies);

struct CallerIdentity {
  std::optional<std::string> subject;     // verified principal
  std::optional<std::string> api_key_id;  // verified API key
  std::string client_ip;
  std::string route_name;
};

// The bucket identity of a caller under a limit type: "user:<subject>", "key:<id>",
// "ip:<addr>", "route:<name>", "global". per_user and per_api_key fall back to "ip:<addr>" when
// the caller has no verified identity of that kind; per_caller takes user, then key, then IP.
// Long identities are replaced by a digest so keys stay bounded.
std::string bucket_identity(LimitType type, const CallerIdentity& caller);

}  // namespace gatewayd::ratelimit
