#pragma once
// The reserved endpoints the gateway answers itself: /health, /ready, /metrics.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string_view>

namespace gatewayd {

class Worker;

bool is_builtin_path(std::string_view path) noexcept;

// The full response (status, content type, body) for a reserved path.
boost::beast::http::response<boost::beast::http::string_body> builtin_response(
    std::string_view path, Worker& worker);

}  // namespace gatewayd
