#include "clients/redis_command.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "clients/redis_slot.hpp"

namespace gatewayd {

RedisCommand::RedisCommand(std::span<const std::string_view> args, int key_index) {
  encode(args, key_index);
}

RedisCommand::RedisCommand(std::initializer_list<std::string_view> args, int key_index) {
  encode(std::span<const std::string_view>(args.begin(), args.size()), key_index);
}

void RedisCommand::encode(std::span<const std::string_view> args, int key_index) {
  if (args.empty()) return;
  constexpr std::size_t kInline = 16;
  const char* argv_inline[kInline];
  std::size_t len_inline[kInline];
  std::vector<const char*> argv_heap;
  std::vector<std::size_t> len_heap;
  const char** argv = argv_inline;
  std::size_t* lens = len_inline;
  if (args.size() > kInline) {
    argv_heap.resize(args.size());
    len_heap.resize(args.size());
    argv = argv_heap.data();
    lens = len_heap.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data() != nullptr ? args[i].data() : "";
    lens[i] = args[i].size();
  }
  char* target = nullptr;
  const int n = redisFormatCommandArgv(&target, static_cast<int>(args.size()), argv, lens);
  if (n < 0 || target == nullptr) return;
  encoded_.assign(target, static_cast<std::size_t>(n));
  redisFreeCommand(target);

  name_.assign(args[0]);
  std::transform(name_.begin(), name_.end(), name_.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (key_index > 0 && static_cast<std::size_t>(key_index) < args.size()) {
    slot_ = redis_key_slot(args[static_cast<std::size_t>(key_index)]);
  }
}

}  // namespace gatewayd
