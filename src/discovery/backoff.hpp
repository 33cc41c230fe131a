#pragma once
// Exponential backoff with jitter for reconnect loops: each delay is drawn from
// [current/2, current] so that gateways restarted together do not hammer a recovering backend in
// lockstep; current doubles (times the multiplier) up to the maximum and resets on success.
#include <chrono>
#include <cstdint>
#include <random>

#include "discovery/discovery_options.hpp"

namespace gatewayd::discovery {

class Backoff {
 public:
  explicit Backoff(const BackoffOptions& options);

  std::chrono::milliseconds next();
  void reset() noexcept { current_ = options_.initial; }
  std::chrono::milliseconds current() const noexcept { return current_; }

 private:
  BackoffOptions options_;
  std::chrono::milliseconds current_;
  std::minstd_rand rng_;
};

}  // namespace gatewayd::discovery
