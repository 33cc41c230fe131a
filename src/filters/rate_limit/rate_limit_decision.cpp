#include "filters/rate_limit/rate_limit_decision.hpp"

#include <algorithm>

#include "gatewayd/error.hpp"

namespace gatewayd::ratelimit {

namespace {

// An sf-string (RFC 8941): printable ASCII, with '"' and '\' escaped.
void append_sf_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c >= 0x20 && c < 0x7F) {
      out += c;
    } else {
      out += '_';
    }
  }
  out += '"';
}

}  // namespace

std::string_view decision_source_name(DecisionSource source) noexcept {
  switch (source) {
    case DecisionSource::kNone:
      return "none";
    case DecisionSource::kLocal:
      return "local";
    case DecisionSource::kRedis:
      return "redis";
    case DecisionSource::kFallbackLocal:
      return "fallback_local";
    case DecisionSource::kFailOpen:
      return "fail_open";
    case DecisionSource::kFailClosed:
      return "fail_closed";
  }
  return "none";
}

void append_rate_limit_headers(const RateLimitDecision& d, bool ietf, HeaderList& out) {
  if (!d.limited) return;
  out.emplace_back("X-RateLimit-Limit", std::to_string(d.limit));
  if (d.state_known) {
    out.emplace_back("X-RateLimit-Remaining", std::to_string(d.remaining));
    out.emplace_back("X-RateLimit-Reset", std::to_string(d.reset_seconds));
  }
  if (!d.allowed)
    out.emplace_back("Retry-After", std::to_string(std::max(1u, d.retry_after_seconds)));
  if (!ietf) return;
  std::string policy;
  for (const auto& r : d.rules) {
    if (!policy.empty()) policy += ", ";
    append_sf_string(policy, r.rule);
    policy += ";q=" + std::to_string(r.limit) + ";w=" + std::to_string(r.window_seconds);
  }
  if (!policy.empty()) out.emplace_back("RateLimit-Policy", std::move(policy));
  if (d.state_known) {
    std::string current;
    append_sf_string(current, d.rule);
    current += ";r=" + std::to_string(d.remaining) + ";t=" + std::to_string(d.reset_seconds);
    out.emplace_back("RateLimit", std::move(current));
  }
}

std::string rate_limited_message(const RateLimitDecision& d) {
  if (d.source == DecisionSource::kFailClosed) {
    return "Rate limit could not be checked; try again later";
  }
  return "Rate limit exceeded; retry in " + std::to_string(std::max(1u, d.retry_after_seconds)) +
         " s";
}

std::string rate_limited_details_json(const RateLimitDecision& d) {
  std::string out = R"({"rule":")";
  append_json_escaped(out, d.rule);
  out += R"(","limit":)" + std::to_string(d.limit);
  out += R"(,"window_seconds":)" + std::to_string(d.window_seconds);
  out += R"(,"retry_after":)" + std::to_string(std::max(1u, d.retry_after_seconds));
  out += '}';
  return out;
}

}  // namespace gatewayd::ratelimit
