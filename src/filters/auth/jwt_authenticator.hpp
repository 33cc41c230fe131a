#pragma once
// Bearer-token authentication as the request path uses it: the verified-token cache first,
// then the verifier over the current key set (JWKS snapshot with the static keys, or the static
// keys alone), and for a token whose kid is unknown an optional JWKS refetch followed by one
// more try. Thread-safe; one instance serves every worker.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "filters/auth/jwks_cache.hpp"
#include "filters/auth/jwt_verifier.hpp"
#include "filters/auth/verified_token_cache.hpp"

namespace gatewayd::auth {

class JwtAuthenticator {
 public:
  // `jwks` may be null (static keys only); its key sets already include `static_keys` when it
  // was built with them, so `static_keys` is only used without it. `cache` may be null.
  JwtAuthenticator(JwtVerifyOptions options, std::shared_ptr<const KeySet> static_keys,
                   std::shared_ptr<JwksCache> jwks = nullptr,
                   std::shared_ptr<VerifiedTokenCache> cache = nullptr);

  // Never blocks. A kUnknownKid failure means a refetch might help (see below).
  JwtResult authenticate(std::string_view token, SystemTime now) const;

  // authenticate(), and when that says kUnknownKid and a JWKS source exists, one
  // rate-limited, single-flight refetch and a second attempt. `done` gets the final result,
  // either inline or later on the JWKS thread: post back to the worker's io_context there.
  void authenticate_with_refetch(std::string token, SystemTime now,
                                 std::function<void(JwtResult)> done) const;

  std::shared_ptr<const KeySet> current_keys() const;
  const JwksCache* jwks() const noexcept { return jwks_.get(); }
  const JwtVerifier& verifier() const noexcept { return *verifier_; }

 private:
  // Shared with pending refetch continuations, which may outlive this object.
  std::shared_ptr<const JwtVerifier> verifier_;
  std::shared_ptr<const KeySet> static_keys_;
  std::shared_ptr<JwksCache> jwks_;
  std::shared_ptr<VerifiedTokenCache> cache_;
};

}  // namespace gatewayd::auth
