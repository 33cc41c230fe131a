#pragma once
// Runs a callable when the scope ends, whatever the exit (return, co_return, exception).

namespace gatewayd {

template <typename F>
struct OnExit {
  F f;
  ~OnExit() { f(); }
};
template <typename F>
OnExit(F) -> OnExit<F>;

}  // namespace gatewayd
