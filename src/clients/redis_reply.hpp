#pragma once
// Values returned by the Redis client: a reply tree (RESP2) and a result that carries either the
// reply or an error code with a message. Errors are values: nothing on the data path throws.
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace gatewayd {

enum class RedisReplyType : std::uint8_t { kNil, kString, kStatus, kError, kInteger, kArray };

struct RedisReply {
  RedisReplyType type = RedisReplyType::kNil;
  std::int64_t integer = 0;
  std::string str;                   // bulk string, status line or error line
  std::vector<RedisReply> elements;  // arrays

  bool is_nil() const noexcept { return type == RedisReplyType::kNil; }
  bool is_error() const noexcept { return type == RedisReplyType::kError; }
  bool is_array() const noexcept { return type == RedisReplyType::kArray; }
  bool is_integer() const noexcept { return type == RedisReplyType::kInteger; }
  // Bulk strings and status lines.
  bool is_text() const noexcept {
    return type == RedisReplyType::kString || type == RedisReplyType::kStatus;
  }
};

// Client-side failures. Server error replies ("-ERR ...") are reported as kServerError with the
// server's line as the message; cluster redirections never reach callers.
enum class RedisErrc {
  kTimeout = 1,       // no reply before the command's deadline
  kNotConnected,      // the connection is down (reconnecting in the background)
  kConnectionLost,    // the connection broke while the command was in flight
  kConnectFailed,     // connect or handshake (AUTH/SELECT) failed
  kQueueFull,         // too many commands in flight on the connection
  kProtocol,          // the reply stream could not be parsed
  kServerError,       // the server answered with an error reply
  kTooManyRedirects,  // MOVED/ASK loop in cluster mode
  kNoNode,            // cluster: no node known for the slot
  kShutdown,          // the client was stopped
  kInvalidCommand,    // the command could not be encoded
};

const std::error_category& redis_category() noexcept;
inline std::error_code make_error_code(RedisErrc e) noexcept {
  return {static_cast<int>(e), redis_category()};
}

struct RedisResult {
  std::error_code ec;
  std::string message;  // why it failed; never contains credentials
  RedisReply reply;

  bool ok() const noexcept { return !ec; }
  explicit operator bool() const noexcept { return ok(); }

  // True for a server error reply whose first word is `prefix` ("NOSCRIPT", "MOVED", ...).
  bool server_error_is(std::string_view prefix) const noexcept;

  static RedisResult failure(RedisErrc e, std::string message) {
    RedisResult r;
    r.ec = make_error_code(e);
    r.message = std::move(message);
    return r;
  }
  // A reply from the server; an error reply at the top level becomes kServerError.
  static RedisResult from_reply(RedisReply reply);
};

}  // namespace gatewayd

namespace std {
template <>
struct is_error_code_enum<gatewayd::RedisErrc> : true_type {};
}  // namespace std
