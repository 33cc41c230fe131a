#pragma once
// The spool's payload format: one Record as a compact JSON object {"k":"request", ...} with
// times as microseconds since the epoch (UTC). JSON keeps the spool readable with standard tools
// and tolerant of added fields: unknown keys are ignored, missing ones take their defaults.
#include <optional>
#include <string>
#include <string_view>

#include "gatewayd/records.hpp"

namespace gatewayd::persistence {

// Never throws: invalid UTF-8 in a field is replaced, not rejected.
std::string encode_record(const Record& record);
// nullopt when the payload is not a record (not JSON, unknown kind).
std::optional<Record> decode_record(std::string_view payload);

// "request", "audit", "rate_limit", "circuit_state", "service_instance".
std::string_view record_kind(const Record& record) noexcept;

}  // namespace gatewayd::persistence
