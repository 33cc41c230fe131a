#pragma once
// The optional plain-HTTP listener of a TLS gateway (HTTP_REDIRECT_PORT): every request gets a
// 308 Permanent Redirect to the same host and target on https://, then the connection closes.
// 308 (not 301) keeps the method and body of a POST on the second try.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "gatewayd/settings.hpp"

namespace gatewayd {

// "https://<host>[:port]<target>" for a request's Host header and target; the port is left out
// when it is 443. nullopt when the Host is not a plain host name, IPv4 or bracketed IPv6
// address (with an optional port). A target that is not origin-form becomes "/".
std::optional<std::string> https_location(std::string_view host_header, std::string_view target,
                                          std::uint16_t https_port);

// Serves one connection of the redirect listener. Its socket is in `open` while it is served,
// so the worker can close it at shutdown.
boost::asio::awaitable<void> serve_https_redirect(
    boost::asio::ip::tcp::socket socket, std::uint16_t https_port, const Settings& settings,
    std::unordered_set<boost::asio::ip::tcp::socket*>& open);

}  // namespace gatewayd
