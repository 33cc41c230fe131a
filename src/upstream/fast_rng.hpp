#pragma once
// Small, fast, non-cryptographic PRNG (xoshiro256**) for load balancing and jitter. One
// instance per thread via thread_rng(); tests construct their own with a fixed seed.
#include <cstdint>

namespace gatewayd::upstream {

class FastRng {
 public:
  explicit FastRng(std::uint64_t seed) noexcept;

  std::uint64_t next() noexcept;
  // Uniform in [0, bound); 0 when bound is 0.
  std::uint64_t below(std::uint64_t bound) noexcept;
  // Uniform in [0, 1).
  double uniform() noexcept;

 private:
  std::uint64_t s_[4];
};

// The calling thread's generator, seeded once per thread from std::random_device.
FastRng& thread_rng() noexcept;

}  // namespace gatewayd::upstream
