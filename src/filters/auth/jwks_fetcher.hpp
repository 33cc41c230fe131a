#pragma once
// Blocking JWKS download for JwksCache's refresh thread: GET over http:// or https:// (Beast,
// OpenSSL with peer and host name verification), one fresh connection per fetch, one overall
// deadline covering resolve, connect, handshake, request and response, and a bounded body.
// Redirects are not followed: a JWKS URL that moves is a configuration change, not something a
// network attacker should be able to cause.
//
// Each fetch runs its own small io_context on the calling thread, so it never touches a worker
// event loop; JwksCache only calls it from its own thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "filters/auth/jwks_cache.hpp"

namespace gatewayd::auth {

struct JwksFetcherOptions {
  std::chrono::milliseconds timeout{5'000};  // the whole exchange
  std::size_t max_bytes = 1 << 20;           // larger documents are a failure
  // PEM bundle of trusted CAs for https; empty = the system's default verify paths.
  std::string ca_file;
};

class HttpJwksFetcher {
 public:
  // Throws std::invalid_argument (naming the URL, which holds no secret) when the URL is not
  // an absolute http:// or https:// URL with a host.
  HttpJwksFetcher(const std::string& url, JwksFetcherOptions options = {});

  // The body of a 200 answer; nullopt on any failure (see last_error()). Blocking, bounded by
  // options.timeout. Safe to call from one thread at a time.
  std::optional<std::string> fetch() const;
  std::optional<std::string> operator()() const { return fetch(); }

  // Why the last fetch failed ("timeout", "HTTP 503", "tls handshake: ..."); empty after a
  // success.
  std::string last_error() const;
  const std::string& url() const noexcept { return url_; }

 private:
  struct Target {
    bool tls = false;
    std::string host;  // without IPv6 brackets
    std::uint16_t port = 80;
    std::string host_header;
    std::string path;  // origin-form with query
  };

  struct State {
    std::mutex mu;
    std::string last_error;
  };

  std::string url_;
  Target target_;
  JwksFetcherOptions options_;
  std::shared_ptr<State> state_;  // shared so copies (inside std::function) report too
};

// The Fetcher JwksCache takes for one or more URLs (JWT_JWKS_URL). With several URLs every one
// is fetched and their "keys" arrays are served as one document. A URL that fails contributes
// the keys of its last good answer, so one issuer's outage neither hides the others' rotations
// nor drops its own known keys; the fetch fails only when every URL failed. Throws
// std::invalid_argument for an empty list or a bad URL.
JwksCache::Fetcher make_jwks_fetcher(const std::vector<std::string>& urls,
                                     JwksFetcherOptions options = {});

}  // namespace gatewayd::auth
