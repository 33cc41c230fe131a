#pragma once
// The Redis side of token buckets: one Lua script decides for every bucket of a request at once
// (all or nothing), atomically, with Redis's own clock (TIME), so neither racing replicas nor
// skewed gateway clocks matter. State per bucket: a hash {tokens, stamp} with a TTL of the time to
// refill plus a margin (an expired bucket is a full one).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "clients/redis_reply.hpp"
#include "clients/redis_script.hpp"
#include "filters/rate_limit/token_bucket.hpp"

namespace gatewayd::ratelimit {

class RedisBucketScript {
 public:
  static const RedisScript& script();

  // "{rl:<rule>:<identity>}": the whole key is the hash tag, so a bucket has one slot and a
  // script call over keys of one slot is valid in a cluster. '{', '}' and '%' in the parts are
  // percent-encoded so they cannot end the tag early.
  static std::string key(std::string_view rule, std::string_view identity);

  // ARGV for a call: cost (1 takes, -1 gives back), then capacity, refill/s, TTL ms per bucket.
  static std::vector<std::string> args(std::span<const TokenBucketParams> buckets, int cost);

  // Reads {allowed, (remaining x1000, retry us, reset us) per bucket}. nullopt when the reply
  // does not have that shape; otherwise whether the request is allowed.
  static std::optional<bool> parse(const RedisReply& reply, std::span<TokenBucketResult> out);
};

}  // namespace gatewayd::ratelimit
