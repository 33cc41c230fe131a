#pragma once
// The process-wide home of endpoint and service state, keyed by name so that it survives
// config reloads and discovery updates: building a new snapshot asks for (service, host:port)
// and gets the same Endpoint object the previous snapshot had.
//
// The registry holds weak references only. An endpoint or service that no snapshot lists any
// more goes away with the last snapshot that referenced it (in-flight requests keep theirs
// alive), and its entry is pruned on the next lookup; listed again later, it starts afresh.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatewayd/config.hpp"
#include "upstream/circuit_observer.hpp"
#include "upstream/clock.hpp"
#include "upstream/endpoint.hpp"
#include "upstream/service_state.hpp"

namespace gatewayd::upstream {

class EndpointRegistry {
 public:
  // `clock` must outlive the registry and everything built from it.
  explicit EndpointRegistry(const Clock& clock = Clock::steady(),
                            std::shared_ptr<CircuitObserver> observer = nullptr);
  EndpointRegistry(const EndpointRegistry&) = delete;
  EndpointRegistry& operator=(const EndpointRegistry&) = delete;

  // Get-or-create; an existing endpoint takes the new weight, `healthy:` flag and breaker
  // policy. A changed scheme (http <-> https) is a different endpoint and starts afresh.
  std::shared_ptr<Endpoint> endpoint(const std::string& service, const InstanceConfig& instance,
                                     const CircuitBreakerPolicy& policy);
  // Get-or-create; an existing one takes the new policies.
  std::shared_ptr<ServiceState> service(const ServiceConfig& config);

  std::shared_ptr<Endpoint> find_endpoint(std::string_view service, std::string_view id) const;
  std::shared_ptr<ServiceState> find_service(std::string_view service) const;
  std::vector<std::shared_ptr<Endpoint>> endpoints_of(std::string_view service) const;

  // Admin reset: the service breaker and every endpoint breaker closed, ejections and streaks
  // cleared, the retry budget's window kept. False when the service is unknown.
  bool reset_service(std::string_view service);

  std::size_t endpoint_count() const;  // live entries
  std::size_t service_count() const;
  const Clock& clock() const noexcept { return clock_; }

 private:
  using Key = std::pair<std::string, std::string>;  // (service, host:port)
  void prune_locked();

  const Clock& clock_;
  const std::shared_ptr<CircuitObserver> observer_;
  mutable std::mutex mutex_;
  std::map<Key, std::weak_ptr<Endpoint>> endpoints_;
  std::map<std::string, std::weak_ptr<ServiceState>, std::less<>> services_;
  std::size_t lookups_since_prune_ = 0;
};

}  // namespace gatewayd::upstream
