#pragma once
// Everything the auth module needs at run time, built once from the settings: the verification
// keys (static and JWKS), the verified-token cache, the API key store, the signing key and
// refresh token store of the token endpoints, and the audit limiter. The app builds one
// AuthRuntime, asks it for a filter and a token endpoint per worker, starts it (background JWKS
// refresh) and stops it before the worker event loops are destroyed.
//
//   auth::AuthRuntime auth(settings, &record_sink);
//   for (auto& w : workers) {
//     w.add_filter(auth.make_filter(w.executor()));
//     w.add_local_endpoint(auth.make_token_endpoints(w.executor()));
//   }
//   auth.start();   ...   auth.stop();
//
// Settings read: JWT_SECRET_KEY, JWT_ALGORITHM, JWT_PUBLIC_KEY_PATH, JWT_PRIVATE_KEY_PATH,
// JWT_KEY_ID, JWT_EXPIRATION_MINUTES, JWT_REFRESH_EXPIRATION_DAYS, JWT_REFRESH_ROTATION_ENABLED,
// JWT_ISSUER, JWT_AUDIENCE, JWT_LEEWAY_SECONDS, JWT_REQUIRED_CLAIMS, JWT_MAX_TOKEN_BYTES,
// JWT_JWKS_URL, JWT_JWKS_REFRESH_SECONDS, JWT_JWKS_TIMEOUT_MS, JWT_JWKS_CA_FILE,
// AUTH_TOKEN_CLIENT_SECRET,
// AUTH_AUDIT_FAILURES_PER_SECOND, API_KEY_ENABLED, API_KEY_HEADER, API_KEYS_FILE (relative to
// CONFIG_DIR), REDIS_ENABLED and the REDIS_* connection variables.
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clients/redis_client.hpp"
#include "filters/auth/api_key_store.hpp"
#include "filters/auth/audit_limiter.hpp"
#include "filters/auth/auth_filter.hpp"
#include "filters/auth/jwks_cache.hpp"
#include "filters/auth/jwt_authenticator.hpp"
#include "filters/auth/jwt_signer.hpp"
#include "filters/auth/refresh_token_store.hpp"
#include "filters/auth/token_endpoints.hpp"
#include "filters/auth/token_service.hpp"
#include "gatewayd/config.hpp"
#include "gatewayd/filter.hpp"
#include "gatewayd/records.hpp"
#include "gatewayd/settings.hpp"

namespace gatewayd::metrics {
class Registry;
}

namespace gatewayd::auth {

struct AuthRuntimeOptions {
  // A worker's Redis client for the refresh token store (share the one the rate limiter uses).
  // Empty: the runtime creates one per worker from the REDIS_* settings. Only used with
  // REDIS_ENABLED=true.
  std::function<std::shared_ptr<RedisClient>(boost::asio::any_io_executor)> redis_client;
  // Where the metrics go; null = metrics::Registry::global().
  metrics::Registry* registry = nullptr;
  // Tests: a fixed clock, and a JWKS fetcher instead of HTTP.
  std::function<SystemTime()> clock;
  JwksCache::Fetcher jwks_fetcher;
};

struct AuthReadiness {
  bool ready = true;
  std::string reason;  // what is missing when not ready
};

class AuthRuntime {
 public:
  // Throws std::invalid_argument / std::runtime_error / SettingsError with a message naming
  // the setting at fault (a start-up error). `records` may be null (no audit records); it
  // must outlive the runtime.
  AuthRuntime(const Settings& settings, RecordSink* records, AuthRuntimeOptions options = {});
  ~AuthRuntime();
  AuthRuntime(const AuthRuntime&) = delete;
  AuthRuntime& operator=(const AuthRuntime&) = delete;

  // One per worker; the filter's coroutines resume on `worker_executor`.
  std::unique_ptr<Filter> make_filter(boost::asio::any_io_executor worker_executor) const;
  // One per worker: with Redis the store uses that worker's Redis client; without Redis every
  // worker shares the single-instance memory store.
  std::shared_ptr<LocalEndpoint> make_token_endpoints(
      boost::asio::any_io_executor worker_executor) const;

  // Starts / stops the background JWKS refresh (no-ops without JWT_JWKS_URL). stop() answers
  // requests parked on a refetch; call it before the worker io_contexts are destroyed.
  void start();
  void stop();
  // Closes the token stores' Redis connections, each on its own worker loop. Call while the
  // loops still run (an open connection keeps its loop alive, so workers could not finish).
  void stop_redis_clients() const;

  // Not ready while JWKS is configured but no key set was ever fetched.
  AuthReadiness readiness() const;

  // Problems of a route table under these settings (unknown auth method names, JWT routes with
  // no key source). Empty when fine; the app refuses a config with problems.
  std::vector<std::string> check_routes(const Config& config) const;

  // Rows of the `api_keys` table (loaded elsewhere, again on every TTL refresh); replaces the
  // previous rows. Thread-safe. Returns how many rows were skipped as invalid.
  std::size_t set_database_api_keys(std::vector<ApiKeyRecord> records);

  const std::shared_ptr<ApiKeyStore>& api_keys() const noexcept { return api_keys_; }
  const std::shared_ptr<JwksCache>& jwks() const noexcept { return jwks_; }
  const std::shared_ptr<const JwtAuthenticator>& authenticator() const noexcept { return jwt_; }
  const std::shared_ptr<AuditLimiter>& audit() const noexcept { return audit_; }
  bool has_jwt_keys() const noexcept { return has_jwt_keys_; }
  bool uses_redis() const noexcept { return redis_enabled_; }
  const TokenServiceOptions& token_options() const noexcept { return token_options_; }

 private:
  std::shared_ptr<RefreshTokenStore> store_for(boost::asio::any_io_executor ex) const;

  AuthRuntimeOptions options_;
  // The clients store_for() made, one per worker (created at start-up, before the loops run).
  mutable std::vector<std::shared_ptr<RedisClient>> redis_clients_;
  std::shared_ptr<ApiKeyStore> api_keys_;
  std::shared_ptr<JwksCache> jwks_;
  std::shared_ptr<const JwtAuthenticator> jwt_;
  std::shared_ptr<AuditLimiter> audit_;
  std::shared_ptr<const AuthFilterShared> filter_shared_;
  std::shared_ptr<const JwtSigner> signer_;
  TokenServiceOptions token_options_;
  TokenEndpointOptions endpoint_options_;
  bool has_jwt_keys_ = false;
  bool redis_enabled_ = false;
  RedisOptions redis_options_;
  std::shared_ptr<RefreshTokenStore> memory_store_;  // without Redis
};

}  // namespace gatewayd::auth
