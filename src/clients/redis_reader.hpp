#pragma once
// RESP2 reply parser: hiredis's redisReader building RedisReply trees directly (no second copy
// of each reply), with a bound on array sizes so a broken stream cannot make us allocate without
// limit.
#include <cstddef>
#include <optional>
#include <string>

#include "clients/redis_reply.hpp"

struct redisReader;

namespace gatewayd {

class RedisReader {
 public:
  static constexpr std::size_t kDefaultMaxElements = 1 << 20;

  explicit RedisReader(std::size_t max_elements = kDefaultMaxElements);
  ~RedisReader();
  RedisReader(const RedisReader&) = delete;
  RedisReader& operator=(const RedisReader&) = delete;

  // Appends received bytes. False when the reader is in an error state.
  bool feed(const char* data, std::size_t size);

  enum class Status { kReply, kNeedMore, kError };
  // Takes the next complete reply out of the buffered bytes.
  Status next(RedisReply& out);

  // Description of a parse error (after kError).
  std::string error() const;

  // Drops all buffered bytes and any error (for a new connection).
  void reset();

 private:
  redisReader* reader_ = nullptr;
  std::size_t max_elements_;
};

}  // namespace gatewayd
