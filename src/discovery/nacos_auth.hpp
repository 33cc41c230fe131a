#pragma once
// The Nacos login token (POST /nacos/v1/auth/login with username and password), shared by all
// Nacos calls of one process: fetched once when several calls need it at the same time,
// refreshed before tokenTtl runs out, dropped when the server refuses it. Used only on the
// control executor (no locking).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "clients/http_client.hpp"
#include "discovery/discovery_options.hpp"

namespace gatewayd::discovery {

class NacosAuth {
 public:
  using Clock = std::chrono::steady_clock;

  explicit NacosAuth(const NacosOptions& options);

  // Login configured (a username is set).
  bool enabled() const noexcept { return !options_.username.empty(); }
  // A valid token ("" when login is not configured), or nullopt with `error` set when the
  // login failed. Logs in against `server` when the token is missing or due for refresh.
  boost::asio::awaitable<std::optional<std::string>> token(HttpEndpoint server, std::string* error);
  // The server refused the token (403): the next call logs in again.
  void invalidate() noexcept;
  std::uint64_t logins() const noexcept { return logins_; }

 private:
  const NacosOptions& options_;
  std::string token_;
  Clock::time_point refresh_at_{};
  bool in_flight_ = false;
  std::shared_ptr<boost::asio::steady_timer> done_;  // cancelled when a login finishes
  std::uint64_t logins_ = 0;
};

}  // namespace gatewayd::discovery
