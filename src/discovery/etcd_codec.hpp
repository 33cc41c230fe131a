#pragma once
// etcd v3 JSON gateway shapes (etcd 3.4+: /v3/kv/range, /v3/watch): keys and values are
// base64, 64-bit numbers are JSON strings. Instance values are JSON documents
// {"url": "http://host:port", "weight": 1, "healthy": true, "zone": "...", "metadata": {...}}.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/endpoint_set.hpp"

namespace gatewayd::discovery {

std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

// The range_end that selects every key starting with `prefix` (prefix with its last byte
// incremented, trailing 0xff bytes dropped; "\0" = all keys when no such end exists).
std::string prefix_range_end(std::string_view prefix);

struct EtcdKeyValue {
  std::string key, value;
  std::int64_t mod_revision = 0;
};

struct EtcdRange {
  std::int64_t revision = 0;  // header.revision: the store revision the answer reflects
  std::vector<EtcdKeyValue> kvs;
};

// POST /v3/kv/range body for a prefix.
std::string etcd_range_body(std::string_view prefix);
std::optional<EtcdRange> parse_etcd_range(std::string_view body, std::string* error = nullptr);

// POST /v3/watch body: a create_request for the prefix from `start_revision`.
std::string etcd_watch_body(std::string_view prefix, std::int64_t start_revision);

struct EtcdEvent {
  bool deleted = false;
  EtcdKeyValue kv;
};

// One line of the watch stream: {"result":{...}} or {"error":{...}}.
struct EtcdWatchMessage {
  std::string error;  // set for an {"error": ...} line
  bool created = false;
  bool canceled = false;
  std::int64_t compact_revision = 0;  // > 0: the start revision was compacted, re-list
  std::int64_t revision = 0;          // header.revision
  std::vector<EtcdEvent> events;
};
std::optional<EtcdWatchMessage> parse_etcd_watch_line(std::string_view line);

// An instance value, or nullopt when it is not the documented JSON or its url is unusable.
// The instance id is the key.
std::optional<DiscoveredEndpoint> parse_etcd_instance(std::string_view key, std::string_view value);

}  // namespace gatewayd::discovery
