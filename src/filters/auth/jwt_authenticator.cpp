#include "filters/auth/jwt_authenticator.hpp"

namespace gatewayd::auth {
namespace {

JwtResult run(const JwtVerifier& verifier, std::shared_ptr<const KeySet> keys,
              VerifiedTokenCache* cache, std::string_view token, SystemTime now) {
  // The size bound comes before hashing so an oversized token costs nothing.
  if (token.size() > verifier.options().max_token_bytes) return verifier.verify(token, *keys, now);
  if (cache != nullptr) {
    if (auto hit = cache->find(token, keys, now)) return JwtResult::success(std::move(*hit));
  }
  JwtResult result = verifier.verify(token, *keys, now);
  if (result.ok() && cache != nullptr) cache->insert(token, keys, result.principal(), now);
  return result;
}

}  // namespace

JwtAuthenticator::JwtAuthenticator(JwtVerifyOptions options,
                                   std::shared_ptr<const KeySet> static_keys,
                                   std::shared_ptr<JwksCache> jwks,
                                   std::shared_ptr<VerifiedTokenCache> cache)
    : verifier_(std::make_shared<const JwtVerifier>(std::move(options))),
      static_keys_(static_keys ? std::move(static_keys) : std::make_shared<const KeySet>()),
      jwks_(std::move(jwks)),
      cache_(std::move(cache)) {}

std::shared_ptr<const KeySet> JwtAuthenticator::current_keys() const {
  return jwks_ ? jwks_->keys() : static_keys_;
}

JwtResult JwtAuthenticator::authenticate(std::string_view token, SystemTime now) const {
  return run(*verifier_, current_keys(), cache_.get(), token, now);
}

void JwtAuthenticator::authenticate_with_refetch(std::string token, SystemTime now,
                                                 std::function<void(JwtResult)> done) const {
  JwtResult first = authenticate(token, now);
  if (first.ok() || first.error() != JwtError::kUnknownKid || !jwks_) {
    done(std::move(first));
    return;
  }
  // Runs on the JWKS thread (so *jwks is alive) or inline; owns everything else it touches.
  JwksCache* jwks = jwks_.get();
  jwks->refetch_unknown_kid([verifier = verifier_, cache = cache_, jwks, token = std::move(token),
                             now, done = std::move(done)]() mutable {
    done(run(*verifier, jwks->keys(), cache.get(), token, now));
  });
}

}  // namespace gatewayd::auth
