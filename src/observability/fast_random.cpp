#include "observability/fast_random.hpp"

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

namespace gatewayd {

namespace {

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
  return (x << k) | (x >> (64 - k));
}

class Xoshiro256 {
 public:
  Xoshiro256() noexcept {
    std::uint64_t seed = 0;
    try {
      std::random_device rd;
      seed = (std::uint64_t{rd()} << 32) ^ rd();
      seed ^= std::uint64_t{rd()} << 17;
    } catch (...) {
      // No entropy device: the clock and the thread identity still separate threads and runs.
    }
    seed ^= static_cast<std::uint64_t>(
        std::chrono::high_resolution_clock::now().time_since_epoch().count());
    seed ^= std::hash<std::thread::id>{}(std::this_thread::get_id()) * 0x9e3779b97f4a7c15ULL;
    for (auto& word : s_) word = splitmix64(seed);
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  std::uint64_t s_[4];
};

Xoshiro256& generator() noexcept {
  thread_local Xoshiro256 gen;
  return gen;
}

}  // namespace

std::uint64_t random_u64() noexcept {
  return generator().next();
}

void random_bytes(std::uint8_t* out, std::size_t n) noexcept {
  auto& gen = generator();
  while (n >= 8) {
    const std::uint64_t v = gen.next();
    std::memcpy(out, &v, 8);
    out += 8;
    n -= 8;
  }
  if (n > 0) {
    const std::uint64_t v = gen.next();
    std::memcpy(out, &v, n);
  }
}

}  // namespace gatewayd
