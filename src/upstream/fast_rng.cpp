#include "upstream/fast_rng.hpp"

#include <functional>
#include <random>
#include <thread>

namespace gatewayd::upstream {

namespace {
__extension__ typedef unsigned __int128 Uint128;

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

FastRng::FastRng(std::uint64_t seed) noexcept {
  for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t FastRng::next() noexcept {
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

std::uint64_t FastRng::below(std::uint64_t bound) noexcept {
  if (bound == 0) return 0;
  // Multiply-shift maps 64 random bits onto [0, bound) with negligible bias for the small
  // bounds used here (endpoint counts, weights, milliseconds).
  return static_cast<std::uint64_t>((static_cast<Uint128>(next()) * bound) >> 64);
}

double FastRng::uniform() noexcept {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

FastRng& thread_rng() noexcept {
  thread_local FastRng rng([] {
    std::random_device rd;
    const std::uint64_t hi = rd();
    const std::uint64_t lo = rd();
    return (hi << 32) ^ lo ^ std::hash<std::thread::id>{}(std::this_thread::get_id());
  }());
  return rng;
}

}  // namespace gatewayd::upstream
