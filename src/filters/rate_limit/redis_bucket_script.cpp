#include "filters/rate_limit/redis_bucket_script.hpp"

#include <charconv>
#include <cmath>

namespace gatewayd::ratelimit {

namespace {

constexpr std::string_view kSource = R"lua(
-- Token buckets over KEYS, all or nothing. ARGV[1]: cost (1 takes a token, -1 gives one back);
-- then for key i: ARGV[3i-1] capacity, ARGV[3i] refill per second, ARGV[3i+1] TTL in ms.
-- Returns {allowed, then per key: tokens x1000 (floored), retry-after us, reset us}.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local n = #KEYS
local tokens, stamps = {}, {}
local allowed = 1
for i = 1, n do
  local cap = tonumber(ARGV[3 * i - 1])
  local rate = tonumber(ARGV[3 * i])
  local s = redis.call('HMGET', KEYS[i], 'tokens', 'stamp')
  local tk, st = tonumber(s[1]), tonumber(s[2])
  if tk == nil or st == nil then
    tk, st = cap, now
  end
  -- A clock that went backwards (failover to a node behind) mints nothing: keep the later stamp.
  if now > st then
    tk = math.min(cap, tk + (now - st) * rate / 1000000)
    st = now
  end
  tokens[i], stamps[i] = tk, st
  if cost > 0 and tk + 1e-9 < cost then allowed = 0 end
end
local out = {allowed}
for i = 1, n do
  local cap = tonumber(ARGV[3 * i - 1])
  local rate = tonumber(ARGV[3 * i])
  local tk = tokens[i]
  if allowed == 1 then
    tk = math.min(cap, math.max(0, tk - cost))
    redis.call('HSET', KEYS[i], 'tokens', string.format('%.17g', tk),
               'stamp', string.format('%d', stamps[i]))
    redis.call('PEXPIRE', KEYS[i], ARGV[3 * i + 1])
  end
  local retry, reset = 0, 0
  if tk + 1e-9 < 1 then retry = math.ceil((1 - tk) / rate * 1000000) end
  if cap - tk > 1e-9 then reset = math.ceil((cap - tk) / rate * 1000000) end
  out[#out + 1] = math.floor(tk * 1000)
  out[#out + 1] = retry
  out[#out + 1] = reset
end
return out
)lua";

void append_escaped(std::string& out, std::string_view part) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : part) {
    if (c == '{' || c == '}' || c == '%') {
      out += '%';
      out += kHex[static_cast<unsigned char>(c) >> 4];
      out += kHex[static_cast<unsigned char>(c) & 0xF];
    } else {
      out += c;
    }
  }
}

std::string format_double(double v) {
  char buf[64];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, ptr) : std::to_string(v);
}

}  // namespace

const RedisScript& RedisBucketScript::script() {
  static const RedisScript instance{std::string(kSource)};
  return instance;
}

std::string RedisBucketScript::key(std::string_view rule, std::string_view identity) {
  std::string k;
  k.reserve(6 + rule.size() + identity.size());
  k += "{rl:";
  append_escaped(k, rule);
  k += ':';
  append_escaped(k, identity);
  k += '}';
  return k;
}

std::vector<std::string> RedisBucketScript::args(std::span<const TokenBucketParams> buckets,
                                                 int cost) {
  std::vector<std::string> out;
  out.reserve(1 + 3 * buckets.size());
  out.push_back(std::to_string(cost));
  for (const auto& b : buckets) {
    out.push_back(format_double(b.capacity));
    out.push_back(format_double(b.refill_per_second));
    const double refill_ms = b.capacity / b.refill_per_second * 1000.0;
    out.push_back(std::to_string(static_cast<std::int64_t>(std::ceil(refill_ms)) + 1000));
  }
  return out;
}

std::optional<bool> RedisBucketScript::parse(const RedisReply& reply,
                                             std::span<TokenBucketResult> out) {
  if (!reply.is_array() || reply.elements.size() != 1 + 3 * out.size()) return std::nullopt;
  for (const auto& e : reply.elements) {
    if (!e.is_integer()) return std::nullopt;
  }
  const bool allowed = reply.elements[0].integer == 1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& tokens = reply.elements[1 + 3 * i];
    const auto& retry = reply.elements[2 + 3 * i];
    const auto& reset = reply.elements[3 + 3 * i];
    TokenBucketResult r;
    r.remaining = static_cast<double>(tokens.integer) / 1000.0;
    r.allowed = allowed || r.remaining + 1e-9 >= 1;
    r.retry_after = std::chrono::microseconds(allowed ? 0 : retry.integer);
    r.reset = std::chrono::microseconds(reset.integer);
    out[i] = r;
  }
  return allowed;
}

}  // namespace gatewayd::ratelimit
