#pragma once
// Registration of the gateway itself in Consul or Nacos (DISCOVERY_SELF_REGISTER), so other
// systems can find the replicas. start() registers in the background (retrying with backoff)
// and keeps the registration alive; stop() deregisters within a bound.
#include <chrono>

namespace gatewayd::discovery {

class SelfRegistration {
 public:
  virtual ~SelfRegistration() = default;
  virtual void start() = 0;
  // Ends the keep-alive loop and deregisters; false when the backend did not confirm within
  // `timeout`. Blocking: call it from a thread other than the control executor's.
  virtual bool stop(std::chrono::milliseconds timeout) = 0;
  // The backend confirmed the registration (and it was not withdrawn since).
  virtual bool registered() const noexcept = 0;
};

}  // namespace gatewayd::discovery
