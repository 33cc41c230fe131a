#pragma once
// Per-worker keep-alive connections to upstream endpoints. Not thread-safe by design: each
// worker owns one pool and touches it only from its own event loop.
//
// For https endpoints the pool also keeps the last TLS session per pool key, and a new
// connection offers it: the upstream can then resume instead of running a full handshake
// (no certificate chain sent and verified again, one round trip less with TLS 1.2, no
// public-key operations). The key is the TLS pool key (host:port and service), so a session is
// only offered with the SNI, CA and client certificate it was made with.
#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gatewayd/metrics.hpp"
#include "server/any_stream.hpp"
#include "server/block_pool.hpp"
#include "server/tls_context.hpp"
#include "server/upstream_tls.hpp"

namespace gatewayd {

class ConnectionPool;

struct UpstreamConnection final : tls::ClientSessionReceiver {
  UpstreamConnection(const boost::asio::any_io_executor& ex,
                     std::shared_ptr<boost::asio::ssl::context> tls, BlockPool* blocks)
      : tls_context(std::move(tls)),
        stream(tls_context ? AnyStream(ex, *tls_context) : AnyStream(ex)),
        buffer(PooledAllocator<char>(blocks)) {}
  std::shared_ptr<boost::asio::ssl::context> tls_context;  // outlives the stream's TLS state
  AnyStream stream;
  IoBuffer buffer;
  std::string key;  // pool key: endpoint id "host:port", or tls_pool_key() for https
  std::chrono::steady_clock::time_point idle_since{};
  bool reused = false;  // came from the idle pool (may have been closed by the peer meanwhile)
  ConnectionPool* pool = nullptr;  // keeps this connection's TLS sessions (https only)

  void on_client_session(SSL_SESSION* session) noexcept override;
};

using UpstreamConnectionPtr = std::unique_ptr<UpstreamConnection>;

class ConnectionPool {
 public:
  // `blocks`: the worker's block pool for the connections' buffers (null: the heap). Must
  // outlive the pool and every connection it hands out.
  ConnectionPool(boost::asio::io_context& io, std::size_t max_idle_per_endpoint,
                 std::chrono::milliseconds idle_timeout, BlockPool* blocks = nullptr);

  // How an idle connection may be handed out.
  enum class Reuse {
    kNever,   // always a new connection
    kProbed,  // an idle one after checking (one non-blocking peek) that the peer kept it open
    // The caller can send its request again on a new connection if the reused one turns out to
    // be closed (no body, or a body kept in memory; an idempotent method): a plain connection
    // idle for less than kProbeAfterIdle is handed out without the peek, which would cost a
    // system call on almost every proxied request. Older and TLS connections are still probed.
    kResendable,
  };
  static constexpr std::chrono::milliseconds kProbeAfterIdle{1000};

  // A live idle connection when one exists, else a new one connected (and, with `tls`, its TLS
  // handshake done: SNI, certificate and host name verified) within `connect_timeout`.
  // `key` names the pool: the endpoint id for http, tls_pool_key() for https.
  boost::asio::awaitable<std::pair<boost::system::error_code, UpstreamConnectionPtr>> acquire(
      std::string_view key, std::string_view host, std::uint16_t port,
      std::chrono::milliseconds connect_timeout, Reuse reuse = Reuse::kProbed,
      const UpstreamTlsEntry* tls = nullptr);

  // https connections are pooled apart from plain ones to the same host:port, and per service
  // (services may present different client certificates or trust different CAs).
  static std::string tls_pool_key(std::string_view endpoint_id, std::string_view service);
  static bool is_tls_key(std::string_view key) noexcept { return key.starts_with("https://"); }
  // Closes idle https connections (their TLS settings were replaced).
  void clear_tls();

  // Returns a connection whose last exchange completed cleanly; it is closed instead when the
  // endpoint already holds max_idle connections.
  void release(UpstreamConnectionPtr conn);

  // Keeps (a copy of) `session` for the next new connection with this key, replacing the one
  // kept before. Called by the connections' TLS session callback, on the owning worker.
  void keep_session(std::string_view key, SSL_SESSION* session) noexcept;

  // Closes idle connections older than the idle timeout.
  void sweep();
  // Closes every idle connection (shutdown, endpoint removed).
  void clear();
  // Closes idle connections of endpoints not in `keep` (after a config or discovery change).
  void retain_only(const std::vector<std::string>& keep);

  // Readable from any thread (metrics scrape); written only by the owning worker.
  std::size_t idle_count() const noexcept { return idle_total_.load(std::memory_order_relaxed); }

 private:
  static bool still_open(UpstreamConnection& conn);

  struct SessionFree {
    void operator()(SSL_SESSION* session) const noexcept { SSL_SESSION_free(session); }
  };
  using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

  boost::asio::io_context& io_;
  BlockPool* blocks_;
  boost::asio::ip::tcp::resolver resolver_;
  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  // gatewayd_upstream_tls_handshakes_total{resumed="false"|"true"}
  metrics::Counter& full_handshakes_;
  metrics::Counter& resumed_handshakes_;
  // Transparent hashing: lookups by the endpoint id's string_view allocate nothing.
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const noexcept {
      return std::hash<std::string_view>{}(id);
    }
  };
  std::unordered_map<std::string, std::vector<UpstreamConnectionPtr>, IdHash, std::equal_to<>>
      idle_;
  std::atomic<std::size_t> idle_total_{0};
  // The last resumable TLS session per TLS pool key.
  std::unordered_map<std::string, SessionPtr, IdHash, std::equal_to<>> sessions_;
};

}  // namespace gatewayd
