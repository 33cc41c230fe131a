#include "filters/rate_limit/redis_bucket_script.hpp"

#include <charconv>
#include <cmath>

namespace gatewayd::ratelimit {

namespace {

constexpr std::string_view kSource = R"lua(
-- Token-bucket decisions, each all or nothing over its buckets, taken in order in one call.
-- ARGV[1]: the number of decisions. Then per decision: cost (1 takes a token, -n gives n back),
-- its bucket count n, and per bucket capacity, refill per second, TTL in ms, and the extra
-- tokens the caller would like to lease (taken only as far as the bucket holds them after the
-- cost; never a reason to refuse). KEYS: the buckets of every decision, in the same order. A
-- bucket named by two decisions sees the first one's update. Returns per decision: allowed,
-- then per bucket tokens x1000 (floored), retry-after us, reset us, extra tokens granted.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
local a, k = 2, 0
for _ = 1, tonumber(ARGV[1]) do
  local cost = tonumber(ARGV[a])
  local n = tonumber(ARGV[a + 1])
  a = a + 2
  local caps, rates, tokens, stamps = {}, {}, {}, {}
  local allowed = 1
  for i = 1, n do
    local cap = tonumber(ARGV[a + 4 * i - 4])
    local rate = tonumber(ARGV[a + 4 * i - 3])
    local s = redis.call('HMGET', KEYS[k + i], 'tokens', 'stamp')
    local tk, st = tonumber(s[1]), tonumber(s[2])
    if tk == nil or st == nil then
      tk, st = cap, now
    end
    -- A clock that went backwards (failover to a node behind) mints nothing: keep the later stamp.
    if now > st then
      tk = math.min(cap, tk + (now - st) * rate / 1000000)
      st = now
    end
    caps[i], rates[i], tokens[i], stamps[i] = cap, rate, tk, st
    if cost > 0 and tk + 1e-9 < cost then allowed = 0 end
  end
  out[#out + 1] = allowed
  for i = 1, n do
    local cap, rate, tk = caps[i], rates[i], tokens[i]
    local granted = 0
    if allowed == 1 then
      if cost > 0 then
        granted = math.max(0, math.min(tonumber(ARGV[a + 4 * i - 1]), math.floor(tk - cost + 1e-9)))
      end
      tk = math.min(cap, math.max(0, tk - cost - granted))
      redis.call('HSET', KEYS[k + i], 'tokens', string.format('%.17g', tk),
                 'stamp', string.format('%d', stamps[i]))
      redis.call('PEXPIRE', KEYS[k + i], ARGV[a + 4 * i - 2])
    end
    local retry, reset = 0, 0
    if tk + 1e-9 < 1 then retry = math.ceil((1 - tk) / rate * 1000000) end
    if cap - tk > 1e-9 then reset = math.ceil((cap - tk) / rate * 1000000) end
    out[#out + 1] = math.floor(tk * 1000)
    out[#out + 1] = retry
    out[#out + 1] = reset
    out[#out + 1] = granted
  end
  a = a + 4 * n
  k = k + n
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

void RedisBucketScript::append_decision(std::vector<std::string>& args,
                                        std::span<const TokenBucketParams> buckets, int cost,
                                        std::span<const std::uint32_t> extras) {
  args.push_back(std::to_string(cost));
  args.push_back(std::to_string(buckets.size()));
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const auto& b = buckets[i];
    args.push_back(format_double(b.capacity));
    args.push_back(format_double(b.refill_per_second));
    const double refill_ms = b.capacity / b.refill_per_second * 1000.0;
    args.push_back(std::to_string(static_cast<std::int64_t>(std::ceil(refill_ms)) + 1000));
    args.push_back(std::to_string(i < extras.size() ? extras[i] : 0));
  }
}

std::optional<bool> RedisBucketScript::parse(const RedisReply& reply, std::size_t offset,
                                             std::span<TokenBucketResult> out,
                                             std::span<std::uint32_t> granted) {
  const std::size_t width = reply_width(out.size());
  if (!reply.is_array() || reply.elements.size() < offset + width) return std::nullopt;
  const auto first = reply.elements.begin() + static_cast<std::ptrdiff_t>(offset);
  for (auto e = first; e != first + static_cast<std::ptrdiff_t>(width); ++e) {
    if (!e->is_integer()) return std::nullopt;
  }
  const bool allowed = first[0].integer == 1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& tokens = first[static_cast<std::ptrdiff_t>(1 + 4 * i)];
    const auto& retry = first[static_cast<std::ptrdiff_t>(2 + 4 * i)];
    const auto& reset = first[static_cast<std::ptrdiff_t>(3 + 4 * i)];
    const auto& extra = first[static_cast<std::ptrdiff_t>(4 + 4 * i)];
    if (i < granted.size())
      granted[i] = static_cast<std::uint32_t>(std::max<long long>(0, extra.integer));
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
