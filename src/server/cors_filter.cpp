// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "server/cors_filter.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "server/header_rules.hpp"

namespace gatewayd {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kAllowOrigin = "Access-Control-Allow-Origin";
constexpr std::string_view kAllowCredentials = "Access-Control-Allow-Credentials";
constexpr std::string_view kExposeHeaders = "Access-Control-Expose-Headers";
constexpr std::string_view kRequestMethod = "Access-Control-Request-Method";
constexpr std::string_view kRequestHeaders = "Access-Control-Request-Headers";
constexpr std::string_view kPreflightVary =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The names of Access-Control-Request-Headers (a comma list, lower-case from browsers).
std::vector<std::string_view> split_names(std::string_view list) {
  std::vector<std::string_view> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto item = trim(list.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

LocalResponse refuse(std::string_view message, const char* what, std::string_view value,
                     std::string_view request_id, std::string_view trace_id) {
  LocalResponse r;
  r.status = 403;
  const nlohmann::json details = {{what, value}};
  // The value comes from the client; dump() escapes it and replaces invalid UTF-8.
  r.body =
      error_body(ErrorCode::kForbidden, message, request_id,
                 details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), trace_id);
  r.headers.emplace_back("Vary", kPreflightVary);
  return r;
}

const std::string* find_value(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

}  // namespace

bool is_cors_preflight(const http::request_header<>& head) {
  return head.method() == http::verb::options && head.find(http::field::origin) != head.end() &&
         !trim(head[kRequestMethod]).empty();
}

std::string_view preflight_method(const http::request_header<>& head) {
  return trim(head[kRequestMethod]);
}

std::optional<LocalResponse> answer_preflight(const CorsPolicy& policy,
                                              const http::request_header<>& head,
                                              std::string_view request_id,
                                              std::string_view trace_id) {
  if (!policy.enabled() || !is_cors_preflight(head)) return std::nullopt;

  const std::string_view origin = head[http::field::origin];
  const auto allow_origin = policy.allow_origin(origin);
  if (!allow_origin)
    return refuse("CORS origin not allowed", "origin", origin, request_id, trace_id);

  const std::string_view method = trim(head[kRequestMethod]);
  if (!policy.method_allowed(method)) {
    return refuse("CORS method not allowed", "method", method, request_id, trace_id);
  }
  const std::string_view requested_headers = head[kRequestHeaders];
  const auto names = split_names(requested_headers);
  for (const auto name : names) {
    if (!policy.header_allowed(name)) {
      return refuse("CORS request header not allowed", "header", name, request_id, trace_id);
    }
  }

  LocalResponse r;
  r.status = 204;
  r.body.clear();  // a 204 has no content
  r.headers.emplace_back(kAllowOrigin, *allow_origin);
  if (policy.options().allow_credentials) r.headers.emplace_back(kAllowCredentials, "true");
  // With `*` configured the request's own method and headers are echoed: a literal `*` is
  // ignored by browsers on credentialed requests and never covers Authorization.
  if (policy.any_method()) {
    r.headers.emplace_back("Access-Control-Allow-Methods", method);
  } else if (!policy.methods_value().empty()) {
    r.headers.emplace_back("Access-Control-Allow-Methods", policy.methods_value());
  }
  if (policy.any_header()) {
    if (!names.empty()) {
      std::string echoed;
      for (const auto name : names) {
        if (!echoed.empty()) echoed += ", ";
        echoed += name;
      }
      r.headers.emplace_back("Access-Control-Allow-Headers", std::move(echoed));
    }
  } else if (!policy.headers_value().empty()) {
    r.headers.emplace_back("Access-Control-Allow-Headers", policy.headers_value());
  }
  r.headers.emplace_back("Access-Control-Max-Age",
                         std::to_string(policy.options().max_age.count()));
  r.headers.emplace_back("Vary", kPreflightVary);
  return r;
}

void append_cors_headers(const CorsPolicy& policy, std::string_view origin, HeaderList& out) {
  if (!policy.enabled()) return;
  out.emplace_back("Vary", "Origin");
  const auto allow_origin = policy.allow_origin(origin);
  if (!allow_origin) return;
  out.emplace_back(kAllowOrigin, *allow_origin);
  if (policy.options().allow_credentials) out.emplace_back(kAllowCredentials, "true");
  if (!policy.exposed_value().empty()) out.emplace_back(kExposeHeaders, policy.exposed_value());
}

CorsFilter::CorsFilter(std::shared_ptr<const CorsPolicyHolder> holder)
    : holder_(std::move(holder)) {}

boost::asio::awaitable<Verdict> CorsFilter::on_request(RequestContext& ctx) {
  co_return *decide_now(ctx);
}

std::optional<Verdict> CorsFilter::decide_now(RequestContext& ctx) {
  std::string_view origin;
  if (ctx.head != nullptr) origin = (*ctx.head)[http::field::origin];
  if (ctx.match.route != nullptr && ctx.match.route->cors) {
    append_cors_headers(*ctx.match.route->cors, origin, ctx.response_headers);
  } else {
    append_cors_headers(*holder_->get(), origin, ctx.response_headers);
  }
  return Continue{};
}

void CorsFilter::on_response(RequestContext& ctx, http::response_header<>& res) {
  // The proxy inserted ctx.response_headers after the upstream's fields; where a name now
  // appears more than once, keep only the gateway's value.
  for (const auto name : std::array{kAllowOrigin, kAllowCredentials, kExposeHeaders}) {
    const std::string* ours = find_value(ctx.response_headers, name);
    if (ours == nullptr || res.count(name) < 2) continue;
    res.erase(name);
    res.set(name, *ours);
  }
}

}  // namespace gatewayd
