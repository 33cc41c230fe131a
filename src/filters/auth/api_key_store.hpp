#pragma once
// API keys, held only as SHA-256 hashes. Records come from a file under config/ (YAML or
// JSON) and from the `api_keys` table (the caller loads rows and hands them over, again on
// every TTL refresh). Lookups hash the presented key and look the digest up, so neither timing
// nor memory reveals anything about stored keys. Readers use an immutable snapshot; updates
// publish a new one. Thread-safe.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "filters/auth/crypto_util.hpp"
#include "filters/auth/principal.hpp"

namespace gatewayd::auth {

struct ApiKeyRecord {
  std::string key_hash;  // lowercase hex SHA-256 of the clear key
  std::string user_id;   // owner
  std::string tenant_id;
  std::string name;
  std::vector<std::string> roles;
  std::vector<std::string> permissions;
  std::vector<std::string> scopes;
  std::optional<SystemTime> expires_at;
  bool enabled = true;
  std::optional<std::uint32_t> rate_limit_per_minute;
  std::optional<std::uint32_t> rate_limit_per_hour;
};

enum class ApiKeyError : std::uint8_t { kMalformed, kUnknown, kExpired, kDisabled };
std::string_view api_key_error_name(ApiKeyError error) noexcept;  // "unknown", ...

class ApiKeyResult {
 public:
  static ApiKeyResult success(Principal p, std::shared_ptr<const ApiKeyRecord> record) {
    ApiKeyResult r;
    r.principal_ = std::move(p);
    r.record_ = std::move(record);
    return r;
  }
  static ApiKeyResult failure(ApiKeyError e) noexcept {
    ApiKeyResult r;
    r.error_ = e;
    return r;
  }
  bool ok() const noexcept { return principal_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Principal& principal() const& { return *principal_; }
  Principal&& principal() && { return std::move(*principal_); }
  // The matched record (per-key rate limits); null on failure.
  const std::shared_ptr<const ApiKeyRecord>& record() const noexcept { return record_; }
  ApiKeyError error() const noexcept { return error_; }
  std::string_view message() const noexcept;  // fixed text, never the key

 private:
  ApiKeyResult() = default;
  std::optional<Principal> principal_;
  std::shared_ptr<const ApiKeyRecord> record_;
  ApiKeyError error_ = ApiKeyError::kUnknown;
};

struct GeneratedApiKey {
  std::string key;       // "gw_" + 43 base64url characters; shown once, never stored
  std::string hash_hex;  // what to store (files take it as "sha256:<hex>")
};
GeneratedApiKey generate_api_key();

// "sha256:<hex>" or bare hex, any case → lowercase hex; nullopt if it is not a SHA-256 hash.
std::optional<std::string> normalize_key_hash(std::string_view text);

// "2030-01-01T00:00:00Z", "2030-01-01T02:00:00+02:00", "2030-01-01 00:00:00" (UTC, the MySQL
// DATETIME form), "2030-01-01", or epoch seconds.
std::optional<SystemTime> parse_timestamp(std::string_view text);

class ApiKeyStore {
 public:
  static constexpr std::size_t kMaxKeyLength = 512;

  ApiKeyStore();

  // Parses an API key file:
  //   api_keys:
  //     - key_hash: "sha256:<hex>"
  //       user_id: reporting-service
  //       tenant_id: acme          # optional
  //       name: nightly reports
  //       roles: [reader]
  //       permissions: [projects:read]
  //       scopes: [read]           # optional
  //       expires_at: "2030-01-01T00:00:00Z"   # optional
  //       enabled: true            # default true
  // (a top-level list is accepted too, and JSON is YAML). Throws std::runtime_error naming the
  // file and entry for anything invalid, including clear keys written where a hash belongs.
  static std::vector<ApiKeyRecord> parse_file(const std::string& path);
  static std::vector<ApiKeyRecord> parse_document(std::string_view text, std::string_view source);

  void load_file(const std::string& path) { set_file_records(parse_file(path)); }
  void set_file_records(std::vector<ApiKeyRecord> records);
  // Rows of the `api_keys` table; replaces the previous rows. A row wins over a file entry
  // with the same hash. Rows with an invalid hash are skipped (returns how many).
  std::size_t set_database_records(std::vector<ApiKeyRecord> records);

  ApiKeyResult lookup(std::string_view presented_key, SystemTime now) const;
  std::size_t size() const noexcept;

 private:
  struct DigestHash {
    std::size_t operator()(const Sha256Digest& d) const noexcept {
      std::size_t h = 0;
      for (int i = 0; i < 8; ++i) h = h << 8 | d[i];
      return h;
    }
  };
  using Table = std::unordered_map<Sha256Digest, std::shared_ptr<const ApiKeyRecord>, DigestHash>;

  void publish();  // with mu_ held

  std::mutex mu_;
  std::vector<ApiKeyRecord> file_records_;
  std::vector<ApiKeyRecord> db_records_;
  std::atomic<std::shared_ptr<const Table>> table_;
};

}  // namespace gatewayd::auth
