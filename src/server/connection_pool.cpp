#include "server/connection_pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>

#include "gatewayd/logging.hpp"
#include "server/tls_context.hpp"

namespace gatewayd {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr std::size_t kIdleBufferKeep = 4096;
constexpr std::string_view kHandshakesMetric = "gatewayd_upstream_tls_handshakes_total";
constexpr std::string_view kHandshakesHelp =
    "Completed TLS handshakes with https upstreams by whether a kept session was resumed";
}  // namespace

ConnectionPool::ConnectionPool(asio::io_context& io, std::size_t max_idle_per_endpoint,
                               std::chrono::milliseconds idle_timeout, BlockPool* blocks)
    : io_(io),
      blocks_(blocks),
      resolver_(io),
      max_idle_(max_idle_per_endpoint),
      idle_timeout_(idle_timeout),
      full_handshakes_(metrics::Registry::global().counter(kHandshakesMetric, kHandshakesHelp,
                                                           {{"resumed", "false"}})),
      resumed_handshakes_(metrics::Registry::global().counter(kHandshakesMetric, kHandshakesHelp,
                                                              {{"resumed", "true"}})) {}

bool ConnectionPool::still_open(UpstreamConnection& conn) {
  // An idle upstream connection must have nothing to read: data means a protocol error, EOF
  // means the peer closed it while it sat in the pool.
  auto& sock = conn.stream.socket();
  if (!sock.is_open()) return false;
  char probe;
  const auto n = ::recv(sock.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

asio::awaitable<std::pair<error_code, UpstreamConnectionPtr>> ConnectionPool::acquire(
    std::string_view id, std::string_view host, std::uint16_t port,
    std::chrono::milliseconds connect_timeout, Reuse reuse, const UpstreamTlsEntry* tls) {
  const auto now = std::chrono::steady_clock::now();
  if (reuse != Reuse::kNever) {
    if (auto it = idle_.find(id); it != idle_.end()) {
      auto& stack = it->second;
      while (!stack.empty()) {
        UpstreamConnectionPtr conn = std::move(stack.back());
        stack.pop_back();
        --idle_total_;
        const auto idle = now - conn->idle_since;
        const bool probe = reuse == Reuse::kProbed || idle >= kProbeAfterIdle ||
                           conn->stream.is_tls() || !conn->stream.socket().is_open();
        if (idle < idle_timeout_ && (!probe || still_open(*conn))) {
          conn->reused = true;
          co_return std::pair{error_code{}, std::move(conn)};
        }
      }
    }
  }

  auto conn = std::make_unique<UpstreamConnection>(
      io_.get_executor(), tls != nullptr ? tls->context : std::shared_ptr<asio::ssl::context>(),
      blocks_);
  conn->key = std::string(id);
  conn->stream.expires_after(connect_timeout);
  error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    auto [cec] = co_await conn->stream.tcp().async_connect(tcp::endpoint(address, port),
                                                           asio::as_tuple(asio::use_awaitable));
    ec = cec;
  } else {
    // Asio resolves on its internal thread, so a slow DNS server never stalls this loop.
    auto [rec, results] = co_await resolver_.async_resolve(host, std::to_string(port),
                                                           asio::as_tuple(asio::use_awaitable));
    if (rec) co_return std::pair{rec, UpstreamConnectionPtr{}};
    auto [cec, ep] =
        co_await conn->stream.tcp().async_connect(results, asio::as_tuple(asio::use_awaitable));
    ec = cec;
  }
  if (ec) co_return std::pair{ec, UpstreamConnectionPtr{}};
  conn->stream.socket().set_option(tcp::no_delay(true), ec);
  if (auto* stream = conn->stream.tls()) {
    // The handshake shares the connect deadline.
    const std::string server_name(tls->server_name.empty() ? host : tls->server_name);
    SSL* ssl = stream->native_handle();
    if (auto pec = tls::prepare_client(ssl, server_name, tls->verify)) {
      co_return std::pair{pec, UpstreamConnectionPtr{}};
    }
    // Sessions this connection establishes are kept for the next ones (keep_session), and the
    // last one kept is offered now; the upstream falls back to a full handshake when it no
    // longer knows it. The connection gets a copy of its own (see keep_session);
    // SSL_set_session takes its own reference to it.
    conn->pool = this;
    tls::set_session_receiver(ssl, conn.get());
    bool offered = false;
    if (const auto kept = sessions_.find(id); kept != sessions_.end()) {
      const SessionPtr copy(SSL_SESSION_dup(kept->second.get()));
      offered = copy && SSL_set_session(ssl, copy.get()) == 1;
    }
    auto [hec] = co_await stream->async_handshake(asio::ssl::stream_base::client,
                                                  asio::as_tuple(asio::use_awaitable));
    if (hec) {
      // Not offered again: the next attempt starts clean (the session may be the problem).
      if (offered) {
        if (auto it = sessions_.find(id); it != sessions_.end()) sessions_.erase(it);
      }
      logging::error().warn("upstream TLS handshake with {} ({}) failed: {}", id, server_name,
                            tls::handshake_failure(ssl, hec));
      co_return std::pair{hec, UpstreamConnectionPtr{}};
    }
    (SSL_session_reused(ssl) == 1 ? resumed_handshakes_ : full_handshakes_).inc();
  }
  conn->stream.expires_never();
  co_return std::pair{error_code{}, std::move(conn)};
}

void UpstreamConnection::on_client_session(SSL_SESSION* session) noexcept {
  if (pool != nullptr) pool->keep_session(key, session);
}

void ConnectionPool::keep_session(std::string_view key, SSL_SESSION* session) noexcept {
  if (session == nullptr || SSL_SESSION_is_resumable(session) != 1) return;
  // A copy, not the connection's own object: OpenSSL marks a connection's session not
  // resumable when the connection is freed without a close_notify, which is how upstream
  // connections usually end (after "Connection: close", on idle expiry, on errors).
  SessionPtr copy(SSL_SESSION_dup(session));
  if (!copy) return;
  try {
    if (auto it = sessions_.find(key); it != sessions_.end()) {
      it->second = std::move(copy);
    } else {
      sessions_.emplace(std::string(key), std::move(copy));
    }
  } catch (const std::bad_alloc&) {
    // Not kept: the next connection runs a full handshake.
  }
}

void ConnectionPool::release(UpstreamConnectionPtr conn) {
  if (!conn || !conn->stream.socket().is_open() || conn->buffer.size() != 0) return;
  auto& stack = idle_[conn->key];
  if (stack.size() >= max_idle_) return;
  // A relay reserves a large buffer; an idle connection need not keep it.
  if (conn->buffer.capacity() > kIdleBufferKeep) conn->buffer.shrink_to_fit();
  conn->stream.expires_never();
  conn->idle_since = std::chrono::steady_clock::now();
  stack.push_back(std::move(conn));
  ++idle_total_;
}

std::string ConnectionPool::tls_pool_key(std::string_view endpoint_id, std::string_view service) {
  std::string key;
  key.reserve(8 + endpoint_id.size() + 1 + service.size());
  key.append("https://").append(endpoint_id).append("#").append(service);
  return key;
}

void ConnectionPool::clear_tls() {
  // Sessions belong to the replaced contexts too.
  sessions_.clear();
  for (auto it = idle_.begin(); it != idle_.end();) {
    if (is_tls_key(it->first)) {
      idle_total_ -= it->second.size();
      it = idle_.erase(it);
    } else {
      ++it;
    }
  }
}

void ConnectionPool::sweep() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& stack = it->second;
    const auto before = stack.size();
    std::erase_if(stack, [&](const UpstreamConnectionPtr& c) {
      return now - c->idle_since >= idle_timeout_ || !still_open(*c);
    });
    idle_total_ -= before - stack.size();
    it = stack.empty() ? idle_.erase(it) : std::next(it);
  }
}

void ConnectionPool::clear() {
  sessions_.clear();
  idle_.clear();
  idle_total_ = 0;
}

void ConnectionPool::retain_only(const std::vector<std::string>& keep) {
  std::erase_if(sessions_, [&](const auto& entry) {
    return std::find(keep.begin(), keep.end(), entry.first) == keep.end();
  });
  for (auto it = idle_.begin(); it != idle_.end();) {
    if (std::find(keep.begin(), keep.end(), it->first) == keep.end()) {
      idle_total_ -= it->second.size();
      it = idle_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace gatewayd
