#include "filters/auth/redis_refresh_token_store.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <array>
#include <span>

namespace gatewayd::auth {
namespace {

using Clock = std::chrono::steady_clock;

// Every script answers {status} or {'ok', grant}; the grant is the stored value without its
// state letter.
const RedisScript& rotate_script() {
  static const RedisScript script(R"lua(
-- KEYS: old token, family marker, new token. ARGV: ttl ms, family ttl ms.
if redis.call('EXISTS', KEYS[2]) == 1 then return {'revoked'} end
local v = redis.call('GET', KEYS[1])
if not v then return {'unknown'} end
if string.sub(v, 1, 1) ~= 'a' then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  return {'reused'}
end
local grant = string.sub(v, 2)
redis.call('SET', KEYS[1], 'u' .. grant, 'KEEPTTL')
redis.call('SET', KEYS[3], 'a' .. grant, 'PX', ARGV[1])
return {'ok', grant}
)lua");
  return script;
}

const RedisScript& get_script() {
  static const RedisScript script(R"lua(
-- KEYS: token, family marker. ARGV: family ttl ms.
if redis.call('EXISTS', KEYS[2]) == 1 then return {'revoked'} end
local v = redis.call('GET', KEYS[1])
if not v then return {'unknown'} end
if string.sub(v, 1, 1) ~= 'a' then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
  return {'reused'}
end
return {'ok', string.sub(v, 2)}
)lua");
  return script;
}

const RedisScript& revoke_script() {
  static const RedisScript script(R"lua(
-- KEYS: token, family marker. ARGV: '1' to revoke the family, family ttl ms.
if redis.call('DEL', KEYS[1]) == 0 then return {'unknown'} end
if ARGV[1] == '1' then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end
return {'ok'}
)lua");
  return script;
}

RefreshStoreResult unavailable(std::string why) {
  RefreshStoreResult r;
  r.status = RefreshStatus::kUnavailable;
  r.error = std::move(why);
  return r;
}

RefreshStoreResult from_script_reply(const RedisResult& result) {
  if (!result.ok()) return unavailable("redis: " + result.message);
  const RedisReply& reply = result.reply;
  if (!reply.is_array() || reply.elements.empty() || !reply.elements[0].is_text()) {
    return unavailable("redis: unexpected script reply");
  }
  const std::string& s = reply.elements[0].str;
  RefreshStoreResult r;
  if (s == "ok") {
    r.status = RefreshStatus::kOk;
    if (reply.elements.size() > 1 && reply.elements[1].is_text()) r.data = reply.elements[1].str;
  } else if (s == "unknown") {
    r.status = RefreshStatus::kUnknown;
  } else if (s == "reused") {
    r.status = RefreshStatus::kReused;
  } else if (s == "revoked") {
    r.status = RefreshStatus::kRevoked;
  } else {
    return unavailable("redis: unexpected script status");
  }
  return r;
}

std::string ms(std::chrono::milliseconds d) {
  return std::to_string(std::max<std::int64_t>(1, d.count()));
}

Clock::time_point deadline_of(const RedisClient& client) {
  return Clock::now() + client.options().command_timeout;
}

}  // namespace

RedisRefreshTokenStore::RedisRefreshTokenStore(std::shared_ptr<RedisClient> client)
    : client_(std::move(client)) {}

std::string RedisRefreshTokenStore::token_key(const RefreshTokenId& id) {
  return "gatewayd:rt:{" + id.family + "}:t:" + id.hash;
}

std::string RedisRefreshTokenStore::family_key(std::string_view family) {
  return "gatewayd:rt:{" + std::string(family) + "}:revoked";
}

boost::asio::awaitable<RefreshStoreResult> RedisRefreshTokenStore::put(
    RefreshTokenId id, std::string data, std::chrono::milliseconds ttl, SystemTime) {
  std::shared_ptr<RedisClient> client = client_;
  const std::string key = token_key(id);
  const std::string value = "a" + data;
  const std::string px = ms(ttl);
  // NX: a (practically impossible) hash collision must not overwrite another grant.
  const std::array<std::string_view, 6> args{"SET", key, value, "PX", px, "NX"};
  RedisResult r = co_await client->execute(RedisCommand(std::span<const std::string_view>(args)),
                                           deadline_of(*client));
  if (!r.ok()) co_return unavailable("redis: " + r.message);
  if (r.reply.is_nil()) co_return unavailable("refresh token collision");
  RefreshStoreResult out;
  out.status = RefreshStatus::kOk;
  co_return out;
}

boost::asio::awaitable<RefreshStoreResult> RedisRefreshTokenStore::rotate(
    RefreshTokenId old_id, RefreshTokenId fresh, std::chrono::milliseconds ttl,
    std::chrono::milliseconds family_ttl, SystemTime) {
  std::shared_ptr<RedisClient> client = client_;
  if (fresh.family != old_id.family) co_return unavailable("rotation across families");
  const std::array<std::string, 3> keys{token_key(old_id), family_key(old_id.family),
                                        token_key(fresh)};
  const std::array<std::string, 2> args{ms(ttl), ms(family_ttl)};
  const std::array<std::string_view, 3> kv{keys[0], keys[1], keys[2]};
  const std::array<std::string_view, 2> av{args[0], args[1]};
  RedisResult r = co_await client->eval(rotate_script(), kv, av, deadline_of(*client));
  co_return from_script_reply(r);
}

boost::asio::awaitable<RefreshStoreResult> RedisRefreshTokenStore::get(
    RefreshTokenId id, std::chrono::milliseconds family_ttl, SystemTime) {
  std::shared_ptr<RedisClient> client = client_;
  const std::array<std::string, 2> keys{token_key(id), family_key(id.family)};
  const std::string arg = ms(family_ttl);
  const std::array<std::string_view, 2> kv{keys[0], keys[1]};
  const std::array<std::string_view, 1> av{arg};
  RedisResult r = co_await client->eval(get_script(), kv, av, deadline_of(*client));
  co_return from_script_reply(r);
}

boost::asio::awaitable<RefreshStoreResult> RedisRefreshTokenStore::revoke(
    RefreshTokenId id, bool family, std::chrono::milliseconds family_ttl, SystemTime) {
  std::shared_ptr<RedisClient> client = client_;
  const std::array<std::string, 2> keys{token_key(id), family_key(id.family)};
  const std::array<std::string, 2> args{std::string(family ? "1" : "0"), ms(family_ttl)};
  const std::array<std::string_view, 2> kv{keys[0], keys[1]};
  const std::array<std::string_view, 2> av{args[0], args[1]};
  RedisResult r = co_await client->eval(revoke_script(), kv, av, deadline_of(*client));
  co_return from_script_reply(r);
}

}  // namespace gatewayd::auth
