#include "discovery/backoff.hpp"

#include <algorithm>

namespace gatewayd::discovery {

Backoff::Backoff(const BackoffOptions& options)
    : options_(options), current_(options.initial), rng_(std::random_device{}()) {
  if (options_.initial.count() <= 0) options_.initial = std::chrono::milliseconds(1);
  if (options_.max < options_.initial) options_.max = options_.initial;
  if (options_.multiplier < 1.0) options_.multiplier = 1.0;
  current_ = options_.initial;
}

std::chrono::milliseconds Backoff::next() {
  const auto upper = current_.count();
  std::uniform_int_distribution<std::int64_t> pick(upper / 2, upper);
  const std::chrono::milliseconds delay(pick(rng_));
  const auto grown = static_cast<std::int64_t>(static_cast<double>(upper) * options_.multiplier);
  current_ = std::min(options_.max, std::chrono::milliseconds(std::max(grown, upper + 1)));
  return delay;
}

}  // namespace gatewayd::discovery
