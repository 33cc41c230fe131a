#include "upstream/health_probe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace gatewayd::upstream {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

namespace {
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Bounds on what a probe reads: a health endpoint's head is small.
constexpr std::size_t kMaxResponseHead = 16 * 1024;

// GET `path` and read the response head; the status, or 0 on an I/O failure. The same code
// serves the plain socket and the TLS stream.
template <class Stream>
asio::awaitable<unsigned> get_status(Stream& stream, const ProbeTarget& target) {
  http::request<http::empty_body> request{http::verb::get, target.path, 11};
  const bool ipv6_literal =
      target.host.find(':') != std::string::npos && target.host.front() != '[';
  request.set(http::field::host, (ipv6_literal ? "[" + target.host + "]" : target.host) + ":" +
                                     std::to_string(target.port));
  request.set(http::field::user_agent, "gatewayd-health-check");
  request.set(http::field::connection, "close");
  auto [write_ec, written] = co_await http::async_write(stream, request, kUseTuple);
  (void)written;
  if (write_ec) co_return 0;

  boost::beast::flat_buffer buffer(kMaxResponseHead);
  http::response_parser<http::empty_body> parser;
  parser.header_limit(kMaxResponseHead);
  auto [read_ec, read] = co_await http::async_read_header(stream, buffer, parser, kUseTuple);
  (void)read;
  if (read_ec) co_return 0;
  co_return parser.get().result_int();
}
}  // namespace

std::string_view probe_error_name(ProbeResult::Error error) noexcept {
  switch (error) {
    case ProbeResult::Error::kNone:
      return "none";
    case ProbeResult::Error::kResolve:
      return "resolve";
    case ProbeResult::Error::kConnect:
      return "connect";
    case ProbeResult::Error::kTimeout:
      return "timeout";
    case ProbeResult::Error::kIo:
      return "io";
    case ProbeResult::Error::kAborted:
      return "aborted";
    case ProbeResult::Error::kTls:
      return "tls";
  }
  return "unknown";
}

HealthProbe::HealthProbe(asio::any_io_executor executor)
    : resolver_(executor), socket_(executor), deadline_(executor) {}

void HealthProbe::cancel_io() {
  resolver_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void HealthProbe::abort() {
  aborted_ = true;
  deadline_.cancel();
  cancel_io();
}

asio::awaitable<ProbeResult> HealthProbe::run(ProbeTarget target) {
  auto self = shared_from_this();  // keeps the object alive across suspensions
  ProbeResult result;
  auto fail = [&](ProbeResult::Error error) {
    if (aborted_) {
      result.error = ProbeResult::Error::kAborted;
    } else if (timed_out_) {
      result.error = ProbeResult::Error::kTimeout;
    } else {
      result.error = error;
    }
    return result;
  };
  if (aborted_) co_return fail(ProbeResult::Error::kAborted);

  deadline_.expires_after(target.timeout);
  deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    if (auto probe = weak.lock()) {
      probe->timed_out_ = true;
      probe->cancel_io();
    }
  });

  auto [resolve_ec, endpoints] = co_await resolver_.async_resolve(
      target.host, std::to_string(target.port), tcp::resolver::numeric_service, kUseTuple);
  if (resolve_ec || timed_out_ || aborted_) {
    deadline_.cancel();
    co_return fail(ProbeResult::Error::kResolve);
  }

  auto [connect_ec, connected] = co_await asio::async_connect(socket_, endpoints, kUseTuple);
  (void)connected;
  if (connect_ec || timed_out_ || aborted_) {
    deadline_.cancel();
    co_return fail(ProbeResult::Error::kConnect);
  }
  result.connected = true;

  unsigned status = 0;
  if (target.tls) {
    tls_context_ = target.tls->context;
    if (!tls_context_) {
      deadline_.cancel();
      cancel_io();
      result.detail = "no TLS client context for this service";
      co_return fail(ProbeResult::Error::kTls);
    }
    tls_.emplace(socket_, *tls_context_);
    SSL* ssl = tls_->native_handle();
    const std::string& name =
        target.tls->server_name.empty() ? target.host : target.tls->server_name;
    if (auto pec = tls::prepare_client(ssl, name, target.tls->verify)) {
      deadline_.cancel();
      cancel_io();
      result.detail = "cannot prepare the TLS connection: " + pec.message();
      co_return fail(ProbeResult::Error::kTls);
    }
    auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, kUseTuple);
    if (hec || timed_out_ || aborted_) {
      deadline_.cancel();
      cancel_io();
      if (!timed_out_ && !aborted_) {
        result.verify_error = SSL_get_verify_result(ssl);
        result.detail =
            "TLS handshake with " + name + " failed: " + tls::handshake_failure(ssl, hec);
      }
      co_return fail(ProbeResult::Error::kTls);
    }
    status = co_await get_status(*tls_, target);
  } else {
    status = co_await get_status(socket_, target);
  }
  if (status == 0 || timed_out_ || aborted_) {
    deadline_.cancel();
    cancel_io();
    co_return fail(ProbeResult::Error::kIo);
  }
  result.status = status;
  deadline_.cancel();
  cancel_io();
  co_return result;
}

}  // namespace gatewayd::upstream
