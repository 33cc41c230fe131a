#include "server/worker.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "gatewayd/logging.hpp"
#include "server/https_redirect.hpp"
#include "server/session.hpp"
#include "upstream/service_table.hpp"

namespace gatewayd {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto kSweepInterval = std::chrono::seconds(5);
}

Worker::Worker(unsigned index, ServerState& state, Snapshot snapshot)
    : index_(index),
      state_(state),
      io_(1),
      config_(std::move(snapshot.config)),
      services_(std::move(snapshot.services)),
      upstream_tls_(std::move(snapshot.upstream_tls)),
      pool_(io_, state.settings.upstream_max_idle, state.settings.upstream_idle_timeout, &blocks_),
      sweep_timer_(io_) {
  for (const auto& text : state.settings.trusted_proxies) {
    if (auto cidr = Cidr::parse(text)) trusted_proxies_.push_back(*cidr);
  }
}

Worker::~Worker() {
  force_stop();
  join();
}

void Worker::listen(const tcp::endpoint& endpoint) {
  acceptor_.emplace(io_);
  acceptor_->open(endpoint.protocol());
  acceptor_->set_option(asio::socket_base::reuse_address(true));
  // SO_REUSEPORT: every worker binds the same port and the kernel spreads connections.
  const int one = 1;
  if (::setsockopt(acceptor_->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::runtime_error("cannot set SO_REUSEPORT on the listener");
  }
  acceptor_->bind(endpoint);
  acceptor_->listen(asio::socket_base::max_listen_connections);
  bound_port_ = acceptor_->local_endpoint().port();
}

void Worker::listen_redirect(const tcp::endpoint& endpoint, std::uint16_t https_port) {
  redirect_acceptor_.emplace(io_);
  redirect_acceptor_->open(endpoint.protocol());
  redirect_acceptor_->set_option(asio::socket_base::reuse_address(true));
  const int one = 1;
  if (::setsockopt(redirect_acceptor_->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one,
                   sizeof one) != 0) {
    throw std::runtime_error("cannot set SO_REUSEPORT on the redirect listener");
  }
  redirect_acceptor_->bind(endpoint);
  redirect_acceptor_->listen(asio::socket_base::max_listen_connections);
  redirect_port_ = redirect_acceptor_->local_endpoint().port();
  https_port_ = https_port;
}

void Worker::publish_tls_context(std::shared_ptr<asio::ssl::context> context) {
  asio::post(io_, [this, context = std::move(context)]() mutable { tls_ = std::move(context); });
}

void Worker::start() {
  work_.emplace(io_.get_executor());
  if (redirect_acceptor_) {
    asio::co_spawn(io_, redirect_loop(), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        logging::error().error("redirect accept loop ended by an exception: {}", ex.what());
      }
    });
  }
  if (acceptor_) {
    asio::co_spawn(io_, accept_loop(), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        logging::error().error("accept loop ended by an exception: {}", ex.what());
      }
    });
  }
  schedule_sweep();
  thread_ = std::thread([this] {
    state_.workers_running.fetch_add(1);
    for (;;) {
      try {
        io_.run();
        break;
      } catch (const std::exception& ex) {
        logging::error().error("worker {} event loop exception: {}", index_, ex.what());
      }
    }
    state_.workers_running.fetch_sub(1);
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> Worker::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_->async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      // EMFILE and friends: log, back off briefly, keep serving what is open.
      logging::error().warn("accept failed: {}", ec.message());
      asio::steady_timer t(io_, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (static_cast<std::size_t>(state_.connections.load(std::memory_order_relaxed)) >=
        state_.settings.max_connections) {
      error_code ignored;
      socket.close(ignored);  // over the limit: refuse rather than degrade everyone
      continue;
    }
    Session::start(*this, std::move(socket));
  }
}

asio::awaitable<void> Worker::redirect_loop() {
  for (;;) {
    auto [ec, socket] =
        co_await redirect_acceptor_->async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !redirect_acceptor_->is_open()) co_return;
      logging::error().warn("redirect listener accept failed: {}", ec.message());
      asio::steady_timer t(io_, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    asio::co_spawn(
        io_,
        serve_https_redirect(std::move(socket), https_port_, settings(), redirect_connections_),
        [](std::exception_ptr e) {
          if (!e) return;
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            logging::error().error("redirect connection ended by an exception: {}", ex.what());
          }
        });
  }
}

void Worker::schedule_sweep() {
  sweep_timer_.expires_after(kSweepInterval);
  sweep_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    pool_.sweep();
    schedule_sweep();
  });
}

void Worker::publish(Snapshot snapshot) {
  asio::post(io_, [this, snapshot = std::move(snapshot)]() mutable {
    config_ = std::move(snapshot.config);
    services_ = std::move(snapshot.services);
    // Pooled https connections were made with the previous TLS settings.
    if (snapshot.upstream_tls != upstream_tls_) pool_.clear_tls();
    upstream_tls_ = std::move(snapshot.upstream_tls);
    // Keep pooled connections only for endpoints the new snapshot still routes to.
    std::vector<std::string> keep;
    if (services_) {
      for (const auto& service : services_->all()) {
        for (const auto& endpoint : service->endpoints()) {
          keep.push_back(endpoint->scheme() == "https"
                             ? ConnectionPool::tls_pool_key(endpoint->id(), endpoint->service())
                             : endpoint->id());
        }
      }
    }
    pool_.retain_only(keep);
  });
}

void Worker::begin_drain() {
  asio::post(io_, [this] {
    error_code ec;
    if (acceptor_) acceptor_->close(ec);
    if (redirect_acceptor_) redirect_acceptor_->close(ec);
    std::vector<Session*> sessions(sessions_.begin(), sessions_.end());
    for (auto* s : sessions) s->close_if_idle();
    pool_.clear();
  });
}

void Worker::force_stop() {
  asio::post(io_, [this] {
    error_code ec;
    if (acceptor_) acceptor_->close(ec);
    if (redirect_acceptor_) redirect_acceptor_->close(ec);
    for (auto* socket : redirect_connections_) socket->close(ec);
    sweep_timer_.cancel();
    std::vector<Session*> sessions(sessions_.begin(), sessions_.end());
    for (auto* s : sessions) s->force_close();
    pool_.clear();
    work_.reset();
  });
}

}  // namespace gatewayd
