#pragma once
// One active health check request: resolve, connect, send `GET path`, read the status line and
// headers, close. The whole probe is bounded by one deadline. https endpoints get a TCP
// connect check only (no TLS handshake).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace gatewayd::upstream {

struct ProbeTarget {
  std::string host;
  std::uint16_t port = 0;
  std::string path = "/health";
  bool tcp_only = false;
  std::chrono::milliseconds timeout{5'000};
};

struct ProbeResult {
  enum class Error : std::uint8_t { kNone, kResolve, kConnect, kTimeout, kIo, kAborted };
  Error error = Error::kNone;
  unsigned status = 0;  // 0 when no response head was read (or tcp_only)
  bool connected = false;
};

std::string_view probe_error_name(ProbeResult::Error error) noexcept;

// Shared-owned so that its deadline timer's handler can never outlive it.
class HealthProbe : public std::enable_shared_from_this<HealthProbe> {
 public:
  explicit HealthProbe(boost::asio::any_io_executor executor);

  // Runs on the probe's executor. At most one run per object.
  boost::asio::awaitable<ProbeResult> run(ProbeTarget target);
  // Ends a run in progress (it completes with kAborted). Call on the probe's executor.
  void abort();

 private:
  void cancel_io();

  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  bool timed_out_ = false;
  bool aborted_ = false;
};

}  // namespace gatewayd::upstream
