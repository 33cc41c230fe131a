#pragma once
// The middleware chain: every proxied request walks the filters in order (auth, rate limit,
// ...) after the router resolved its route, then the upstream stage forwards it.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "gatewayd/config.hpp"
#include "gatewayd/error.hpp"
#include "gatewayd/router.hpp"

namespace gatewayd {

// The verified caller, set by the auth filter. Never taken from unverified input.
struct Identity {
  std::string subject;                     // user id
  std::string auth_method;                 // "jwt" | "api_key"
  std::string key_id;                      // API key id (per-key limits)
  std::uint32_t key_limit_per_minute = 0;  // the API key's own limits; 0: none
  std::uint32_t key_limit_per_hour = 0;
  std::string tenant;
  std::vector<std::string> roles, permissions, scopes;
};

struct RequestContext {
  std::shared_ptr<const Config> config;                  // one snapshot for the whole request
  boost::beast::http::request_header<>* head = nullptr;  // mutable: filters add upstream headers
  std::string_view method;                               // upper-case
  NormalizedTarget target;                               // normalised path + raw query
  RouteMatch match;                                      // route resolved by the router
  std::string request_id;
  bool request_id_from_client = false;  // kept from a valid client X-Request-Id
  std::string traceparent;              // outgoing W3C traceparent (empty when tracing is off)
  std::string tracestate;               // passed through with it
  std::string trace_id;
  std::string span_id;         // the gateway's server span
  std::string parent_span_id;  // the caller's span, empty for a trace started here
  bool trace_sampled = false;
  std::string client_ip;
  bool peer_trusted = false;
  std::optional<Identity> identity;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point deadline;
  // Headers filters add to the downstream response (rate-limit headers, CORS, ...).
  std::vector<std::pair<std::string, std::string>> response_headers;

  const RouteConfig& route() const { return *match.route; }

  // Back to a fresh context, keeping the heap buffers of the strings and vectors every request
  // fills: a keep-alive connection reuses one context for all its requests.
  void reset();
};

struct Continue {};
struct LocalReply {
  LocalReply() = default;
  LocalReply(ErrorCode c, std::string msg, unsigned st = 0)
      : code(c), message(std::move(msg)), status(st) {}

  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  unsigned status = 0;  // 0 = error_status(code)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string details_json = "{}";
};
using Verdict = std::variant<Continue, LocalReply>;

// What happened to a request, for on_complete hooks (metrics, records, access log).
struct Outcome {
  unsigned status = 0;
  std::string_view error_code;  // empty on success
  std::string_view upstream;    // endpoint id that served it
  double duration_seconds = 0;
  double upstream_seconds = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
};

class Filter {
 public:
  virtual ~Filter() = default;
  virtual std::string_view name() const noexcept = 0;
  // The verdict when the filter can decide without waiting (no I/O: the common case), or
  // nullopt when it must wait, and then the session awaits on_request(). Deciding here spares
  // a coroutine frame per filter and request. No side effects before returning nullopt.
  virtual std::optional<Verdict> decide_now(RequestContext&) { return std::nullopt; }
  // The complete decision, waiting where needed.
  virtual boost::asio::awaitable<Verdict> on_request(RequestContext& ctx) = 0;
  virtual void on_response(RequestContext&, boost::beast::http::response_header<>&) {}
  virtual void on_complete(const RequestContext&, const Outcome&) noexcept {}
};

// A reserved path the gateway answers itself on the public listener (for example
// POST /auth/token). The session reads the whole body (bounded by max_body()) before calling
// handle(); handlers run on the worker's event loop and must not block.
struct LocalRequest {
  std::string_view method;  // upper-case
  std::string_view path;    // normalised, without the query
  std::string_view query;   // raw, without '?'
  const boost::beast::http::request_header<>* head = nullptr;
  std::string body;
  std::string client_ip;
  std::string request_id;
  std::string user_agent;
};

struct LocalResponse {
  unsigned status = 200;
  std::string body = "{}";  // JSON
  std::vector<std::pair<std::string, std::string>> headers;
};

class LocalEndpoint {
 public:
  virtual ~LocalEndpoint() = default;
  // Whether this endpoint owns `path` (any method: a wrong method is the handler's 405).
  virtual bool owns(std::string_view path) const noexcept = 0;
  virtual std::size_t max_body() const noexcept { return 64 * 1024; }
  virtual boost::asio::awaitable<LocalResponse> handle(LocalRequest& request) = 0;
};

}  // namespace gatewayd
