#pragma once
// One encoded Redis command (RESP, via hiredis's redisFormatCommandArgv) and, in cluster mode,
// the slot that decides which node receives it.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace gatewayd {

class RedisCommand {
 public:
  static constexpr int kNoKey = -1;

  RedisCommand() = default;
  // `key_index` names the argument that is the key routing the command in a cluster (1 for most
  // commands, kNoKey for keyless ones such as PING). Out-of-range indexes mean keyless.
  explicit RedisCommand(std::span<const std::string_view> args, int key_index = 1);
  RedisCommand(std::initializer_list<std::string_view> args, int key_index = 1);

  // Routes the command to the node owning `slot` (SCRIPT LOAD next to the key it serves).
  RedisCommand& route_to_slot(std::uint16_t slot) noexcept {
    slot_ = slot;
    return *this;
  }

  const std::string& encoded() const noexcept { return encoded_; }
  std::optional<std::uint16_t> slot() const noexcept { return slot_; }
  bool valid() const noexcept { return !encoded_.empty(); }
  // The command name as sent (for metrics and error messages; never arguments).
  const std::string& name() const noexcept { return name_; }

 private:
  void encode(std::span<const std::string_view> args, int key_index);

  std::string encoded_;
  std::string name_;
  std::optional<std::uint16_t> slot_;
};

}  // namespace gatewayd
