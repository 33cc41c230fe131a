#include "upstream/attempt_outcome.hpp"

#include <algorithm>

namespace gatewayd::upstream {

std::string_view failure_kind_name(FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::kConnect:
      return "connect";
    case FailureKind::kTimeout:
      return "timeout";
    case FailureKind::kProtocol:
      return "protocol";
    case FailureKind::kStatus:
      return "status";
  }
  return "unknown";
}

std::optional<FailureKind> classify_failure(const CircuitBreakerPolicy& policy,
                                            const AttemptOutcome& outcome) noexcept {
  switch (outcome.error) {
    case AttemptError::kConnect:
      if (policy.failure_on_connect_error) return FailureKind::kConnect;
      return std::nullopt;
    case AttemptError::kTimeout:
      if (policy.failure_on_timeout) return FailureKind::kTimeout;
      return std::nullopt;
    case AttemptError::kProtocol:
      if (policy.failure_on_protocol_error) return FailureKind::kProtocol;
      return std::nullopt;
    case AttemptError::kNone:
      break;
  }
  if (policy.failure_on_5xx && outcome.status >= 500 && outcome.status <= 599) {
    return FailureKind::kStatus;
  }
  if (std::find(policy.failure_statuses.begin(), policy.failure_statuses.end(), outcome.status) !=
      policy.failure_statuses.end()) {
    return FailureKind::kStatus;
  }
  return std::nullopt;
}

}  // namespace gatewayd::upstream
