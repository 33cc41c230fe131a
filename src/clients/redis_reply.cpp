#include "clients/redis_reply.hpp"

namespace gatewayd {

namespace {
class RedisCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "redis"; }
  std::string message(int ev) const override {
    switch (static_cast<RedisErrc>(ev)) {
      case RedisErrc::kTimeout:
        return "redis command timed out";
      case RedisErrc::kNotConnected:
        return "redis not connected";
      case RedisErrc::kConnectionLost:
        return "redis connection lost";
      case RedisErrc::kConnectFailed:
        return "redis connect failed";
      case RedisErrc::kQueueFull:
        return "redis in-flight queue full";
      case RedisErrc::kProtocol:
        return "redis protocol error";
      case RedisErrc::kServerError:
        return "redis server error";
      case RedisErrc::kTooManyRedirects:
        return "redis cluster redirect limit reached";
      case RedisErrc::kNoNode:
        return "redis cluster has no node for slot";
      case RedisErrc::kShutdown:
        return "redis client stopped";
      case RedisErrc::kInvalidCommand:
        return "redis command could not be encoded";
    }
    return "redis error";
  }
};
}  // namespace

const std::error_category& redis_category() noexcept {
  static const RedisCategory category;
  return category;
}

bool RedisResult::server_error_is(std::string_view prefix) const noexcept {
  if (ec != RedisErrc::kServerError) return false;
  const std::string_view line = message;
  return line.size() >= prefix.size() && line.substr(0, prefix.size()) == prefix &&
         (line.size() == prefix.size() || line[prefix.size()] == ' ');
}

RedisResult RedisResult::from_reply(RedisReply reply) {
  RedisResult r;
  if (reply.is_error()) {
    r.ec = make_error_code(RedisErrc::kServerError);
    r.message = reply.str;
  }
  r.reply = std::move(reply);
  return r;
}

}  // namespace gatewayd
