#pragma once
// Waiting on state a test cannot await directly (a writer thread's flush interval, a reconnect
// back-off, a discovery poll): poll a condition until it holds or the limit passes. The limit
// only matters when the test fails.
#include <chrono>
#include <thread>

namespace gatewayd::test {

template <class F>
bool eventually(F condition, std::chrono::milliseconds limit = std::chrono::seconds(60),
                std::chrono::milliseconds step = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(step);
  }
  return condition();
}

}  // namespace gatewayd::test
