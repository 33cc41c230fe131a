#pragma once
// The Redis side of token buckets: one Lua script decides for every bucket of a request at once
// (all or nothing), atomically, with Redis's own clock (TIME), so neither racing replicas nor
// skewed gateway clocks matter. One call carries the decisions of several requests (see
// RedisBucketBatcher), each still all or nothing over its own buckets. State per bucket: a hash
// {tokens, stamp} with a TTL of the time to refill plus a margin (an expired bucket is a full one).
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

  // ARGV of a call: the decision count first (the caller sets args[0]), then per decision what
  // this appends: cost (1 takes, -n gives n back), bucket count, and per bucket capacity,
  // refill/s, TTL ms and the extra tokens to lease (`extras`, 0 when shorter). The decision's
  // keys go to KEYS in the same order.
  static void append_decision(std::vector<std::string>& args,
                              std::span<const TokenBucketParams> buckets, int cost,
                              std::span<const std::uint32_t> extras = {});

  // Reply elements of one decision over `buckets` buckets.
  static constexpr std::size_t reply_width(std::size_t buckets) { return 1 + 4 * buckets; }

  // Reads one decision at `offset` of the reply: {allowed, (remaining x1000, retry us, reset us,
  // extra tokens granted) per bucket}; the grants go to `granted` as far as it reaches. nullopt
  // when the reply does not have that shape; otherwise whether the request is allowed.
  static std::optional<bool> parse(const RedisReply& reply, std::size_t offset,
                                   std::span<TokenBucketResult> out,
                                   std::span<std::uint32_t> granted = {});
};

}  // namespace gatewayd::ratelimit
