#pragma once
// One active health check request: resolve, connect, for https endpoints the TLS handshake
// (with the client settings proxied requests use: CA, host name or IP verification, SNI, client
// certificate), send `GET path`, read the status line and headers, close. The whole probe is
// bounded by one deadline. Every probe of an https endpoint does a full handshake (no session
// resumption), so that an expired or replaced certificate is noticed by the next probe.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "upstream/tls_client.hpp"

namespace gatewayd::upstream {

struct ProbeTarget {
  std::string host;
  std::uint16_t port = 0;
  std::string path = "/health";
  // Set for https endpoints. An empty server_name means `host`; no context fails the probe.
  std::optional<TlsClient> tls;
  std::chrono::milliseconds timeout{5'000};
};

struct ProbeResult {
  // kTls: the handshake failed (certificate not trusted, wrong name, protocol or client
  // certificate refused); `detail` says why.
  enum class Error : std::uint8_t { kNone, kResolve, kConnect, kTimeout, kIo, kAborted, kTls };
  Error error = Error::kNone;
  unsigned status = 0;  // 0 when no response head was read
  bool connected = false;
  std::string detail;     // only for kTls (the plain path allocates nothing for it)
  long verify_error = 0;  // kTls: the X509_V_ERR_* of a failed certificate verification, else 0
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
  // Declared in this order so that the TLS state goes before the context and socket it uses.
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer deadline_;
  bool timed_out_ = false;
  bool aborted_ = false;
};

}  // namespace gatewayd::upstream
