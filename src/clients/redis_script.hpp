#pragma once
// A Lua script run with EVALSHA: the SHA1 is computed here once, so the text is only sent on a
// NOSCRIPT reply (first use on a node, or after SCRIPT FLUSH / a server restart).
#include <string>
#include <string_view>

namespace gatewayd {

class RedisScript {
 public:
  explicit RedisScript(std::string source);

  const std::string& source() const noexcept { return source_; }
  const std::string& sha1() const noexcept { return sha1_; }  // 40 lower-case hex digits

 private:
  std::string source_;
  std::string sha1_;
};

// Lower-case hex SHA1 of `data` (what SCRIPT LOAD returns for a script).
std::string sha1_hex(std::string_view data);

}  // namespace gatewayd
