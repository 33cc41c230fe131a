#include "filters/auth/auth_runtime.hpp"

#include <boost/asio/post.hpp>
#include <filesystem>
#include <stdexcept>

#include "filters/auth/auth_metrics.hpp"
#include "filters/auth/jwks_fetcher.hpp"
#include "filters/auth/key_loader.hpp"
#include "filters/auth/memory_refresh_token_store.hpp"
#include "filters/auth/redis_refresh_token_store.hpp"
#include "filters/auth/verified_token_cache.hpp"
#include "gatewayd/logging.hpp"
#include "gatewayd/metrics.hpp"

namespace gatewayd::auth {
namespace {

std::string first_or_empty(const std::vector<std::string>& v) {
  return v.empty() ? std::string() : v.front();
}

std::string resolve_in(const std::string& dir, const std::string& file) {
  std::filesystem::path p(file);
  if (p.is_absolute() || dir.empty()) return p.string();
  return (std::filesystem::path(dir) / p).string();
}

JwtVerifyOptions verify_options(const Settings& s) {
  JwtVerifyOptions o;
  o.max_token_bytes = static_cast<std::size_t>(s.get_int("JWT_MAX_TOKEN_BYTES"));
  o.leeway = std::chrono::seconds(s.get_int("JWT_LEEWAY_SECONDS"));
  o.issuers = s.get_list("JWT_ISSUER");
  o.audiences = s.get_list("JWT_AUDIENCE");
  // JWT_AUDIENCE documents "empty accepts any": an aud claim is then not checked at all.
  o.reject_unexpected_audience = !o.audiences.empty();
  o.required_claims = s.get_list("JWT_REQUIRED_CLAIMS");
  return o;
}

}  // namespace

AuthRuntime::AuthRuntime(const Settings& settings, RecordSink* records, AuthRuntimeOptions options)
    : options_(std::move(options)) {
  metrics::Registry& registry =
      options_.registry != nullptr ? *options_.registry : metrics::Registry::global();

  // Keys the gateway holds itself (HS secret, PEM files) and the one it signs with.
  StaticKeyConfig key_config;
  key_config.secret = settings.get("JWT_SECRET_KEY");
  key_config.algorithm = settings.get("JWT_ALGORITHM");
  key_config.public_key_path = settings.get("JWT_PUBLIC_KEY_PATH");
  key_config.private_key_path = settings.get("JWT_PRIVATE_KEY_PATH");
  key_config.kid = settings.get("JWT_KEY_ID");
  StaticKeys keys = load_static_keys(key_config);
  if (keys.signing && keys.signing_alg) {
    signer_ = std::make_shared<const JwtSigner>(*keys.signing, *keys.signing_alg);
  }
  auto static_keys = std::make_shared<const KeySet>(keys.verify);
  has_jwt_keys_ = !keys.verify.empty();

  const std::vector<std::string> jwks_urls = settings.get_list("JWT_JWKS_URL");
  if (!jwks_urls.empty() || options_.jwks_fetcher) {
    JwksCache::Options jo;
    jo.ttl = std::chrono::seconds(settings.get_int("JWT_JWKS_REFRESH_SECONDS"));
    // Refresh at the period itself: JWT_JWKS_REFRESH_SECONDS is the refresh period.
    jo.refresh_ahead = 1.0;
    jo.static_keys = keys.verify;
    JwksCache::Fetcher fetcher = options_.jwks_fetcher;
    if (!fetcher) {
      JwksFetcherOptions fo;
      fo.timeout = settings.get_duration("JWT_JWKS_TIMEOUT_MS");
      fo.ca_file = settings.get("JWT_JWKS_CA_FILE");
      try {
        fetcher = make_jwks_fetcher(jwks_urls, fo);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string("JWT_JWKS_URL: ") + e.what());
      }
    }
    jwks_ = std::make_shared<JwksCache>(std::move(jo), std::move(fetcher));
    register_jwks_metrics(registry, jwks_, "jwks");
    has_jwt_keys_ = true;
  }
  jwt_ = std::make_shared<const JwtAuthenticator>(verify_options(settings), static_keys, jwks_,
                                                  std::make_shared<VerifiedTokenCache>());

  api_keys_ = std::make_shared<ApiKeyStore>();
  const bool api_keys_enabled = settings.get_bool("API_KEY_ENABLED");
  if (const std::string file = settings.get("API_KEYS_FILE"); !file.empty()) {
    try {
      api_keys_->load_file(resolve_in(settings.config_dir, file));
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("API_KEYS_FILE: ") + e.what());
    }
  }

  const auto per_second = settings.get_int("AUTH_AUDIT_FAILURES_PER_SECOND");
  audit_ = std::make_shared<AuditLimiter>(records, static_cast<std::uint32_t>(per_second));
  std::weak_ptr<AuditLimiter> weak_audit = audit_;
  registry.counter_callback("gatewayd_auth_audit_suppressed_total",
                            "Auth failure audit records held back by the audit rate limit.", {},
                            [weak_audit] {
                              auto a = weak_audit.lock();
                              return a ? static_cast<double>(a->suppressed_total()) : 0.0;
                            });

  auto shared = std::make_shared<AuthFilterShared>();
  shared->jwt = jwt_;
  shared->api_keys = api_keys_;
  shared->api_keys_enabled = api_keys_enabled;
  shared->api_key_header = settings.get("API_KEY_HEADER");
  shared->audit = audit_;
  shared->clock = options_.clock;
  shared->register_metrics(registry);
  filter_shared_ = std::move(shared);

  token_options_.access_ttl = std::chrono::minutes(settings.get_int("JWT_EXPIRATION_MINUTES"));
  token_options_.refresh_ttl =
      std::chrono::hours(24) * settings.get_int("JWT_REFRESH_EXPIRATION_DAYS");
  token_options_.rotation = settings.get_bool("JWT_REFRESH_ROTATION_ENABLED");
  token_options_.issuer = first_or_empty(settings.get_list("JWT_ISSUER"));
  token_options_.audience = first_or_empty(settings.get_list("JWT_AUDIENCE"));

  endpoint_options_.client_secret = settings.get("AUTH_TOKEN_CLIENT_SECRET");
  endpoint_options_.api_keys_enabled = api_keys_enabled;
  endpoint_options_.api_key_header = settings.get("API_KEY_HEADER");

  redis_enabled_ = settings.get_bool("REDIS_ENABLED");
  if (redis_enabled_) {
    redis_options_ = redis_options_from_settings(settings);
    redis_options_.name = "tokens";
  } else {
    memory_store_ = std::make_shared<MemoryRefreshTokenStore>();
    logging::log_event(logging::app(), spdlog::level::warn,
                       "refresh tokens use the single-instance memory store",
                       {{"reason", "REDIS_ENABLED=false"},
                        {"effect", "tokens are lost on restart and unknown to other replicas"}});
  }
}

AuthRuntime::~AuthRuntime() {
  stop();
}

void AuthRuntime::start() {
  if (jwks_) jwks_->start();
}

void AuthRuntime::stop() {
  if (jwks_) jwks_->stop();
}

std::unique_ptr<Filter> AuthRuntime::make_filter(boost::asio::any_io_executor ex) const {
  return std::make_unique<AuthFilter>(filter_shared_, std::move(ex));
}

void AuthRuntime::stop_redis_clients() const {
  for (const auto& client : redis_clients_) {
    boost::asio::post(client->executor(), [client] { client->stop(); });
  }
}

std::shared_ptr<RefreshTokenStore> AuthRuntime::store_for(boost::asio::any_io_executor ex) const {
  if (!redis_enabled_) return memory_store_;
  std::shared_ptr<RedisClient> client =
      options_.redis_client ? options_.redis_client(ex) : RedisClient::create(ex, redis_options_);
  if (!options_.redis_client) redis_clients_.push_back(client);
  return std::make_shared<RedisRefreshTokenStore>(std::move(client));
}

std::shared_ptr<LocalEndpoint> AuthRuntime::make_token_endpoints(
    boost::asio::any_io_executor ex) const {
  auto service = std::make_shared<TokenService>(signer_, token_options_, store_for(std::move(ex)));
  return std::make_shared<TokenEndpoints>(std::move(service), endpoint_options_, api_keys_, audit_,
                                          options_.clock);
}

AuthReadiness AuthRuntime::readiness() const {
  if (jwks_ && !jwks_->age_seconds()) {
    std::string why = "JWKS key set not fetched yet";
    if (const std::string err = jwks_->last_error(); !err.empty()) why += " (" + err + ")";
    return {false, std::move(why)};
  }
  return {};
}

std::vector<std::string> AuthRuntime::check_routes(const Config& config) const {
  std::vector<std::string> problems;
  for (const auto& route : config.routes) {
    const std::string where = route.source.empty() ? "route " + route.name : route.source;
    RouteAuthRequirements req;
    try {
      req = RouteAuthRequirements::from_route(route);
    } catch (const std::exception& e) {
      problems.push_back(where + ": auth_methods: " + e.what());
      continue;
    }
    if (!req.auth_required) continue;
    if (req.accept_jwt && !has_jwt_keys_) {
      problems.push_back(where +
                         ": requires JWT authentication but no key is configured "
                         "(JWT_SECRET_KEY, JWT_PUBLIC_KEY_PATH or JWT_JWKS_URL)");
    }
    if (!req.accept_jwt && req.accept_api_key && !filter_shared_->api_keys_enabled) {
      problems.push_back(where + ": accepts only API keys but API_KEY_ENABLED is false");
    }
  }
  return problems;
}

std::size_t AuthRuntime::set_database_api_keys(std::vector<ApiKeyRecord> records) {
  return api_keys_->set_database_records(std::move(records));
}

}  // namespace gatewayd::auth
