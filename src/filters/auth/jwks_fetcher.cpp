#include "filters/auth/jwks_fetcher.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include <openssl/ssl.h>

namespace gatewayd::auth {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct FetchOutcome {
  std::optional<std::string> body;
  std::string error;
};

FetchOutcome fail(std::string what, const boost::system::error_code& ec = {}) {
  if (ec) what += ": " + ec.message();
  return {std::nullopt, std::move(what)};
}

template <typename Stream>
asio::awaitable<FetchOutcome> exchange(Stream& stream, beast::tcp_stream& tcp,
                                       http::request<http::empty_body> req, std::size_t max_bytes,
                                       Clock::time_point deadline) {
  tcp.expires_at(deadline);
  auto [wec, written] = co_await http::async_write(stream, req, kNoThrow);
  (void)written;
  if (wec) co_return fail("write", wec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(max_bytes);
  tcp.expires_at(deadline);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
  (void)read;
  if (rec == beast::error::timeout) co_return fail("timeout");
  if (rec == http::error::body_limit) co_return fail("document too large");
  if (rec) co_return fail("read", rec);
  const unsigned status = parser.get().result_int();
  if (status != 200) co_return fail("HTTP " + std::to_string(status));
  co_return FetchOutcome{std::move(parser.get().body()), {}};
}

// Parameters by value: the frame owns everything it touches.
asio::awaitable<FetchOutcome> fetch_once(bool tls, std::string host, std::uint16_t port,
                                         std::string host_header, std::string path,
                                         std::size_t max_bytes, std::string ca_file,
                                         Clock::time_point deadline) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  // The resolver has no deadline of its own; the io_context's run_for bounds it.
  auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), kNoThrow);
  if (rec) co_return fail("resolve", rec);

  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, host_header);
  req.set(http::field::accept, "application/json, application/jwk-set+json");
  req.set(http::field::user_agent, "gatewayd-jwks");
  req.set(http::field::connection, "close");

  if (!tls) {
    beast::tcp_stream stream(ex);
    stream.expires_at(deadline);
    auto [cec, ep] = co_await stream.async_connect(results, kNoThrow);
    (void)ep;
    if (cec == beast::error::timeout) co_return fail("timeout");
    if (cec) co_return fail("connect", cec);
    co_return co_await exchange(stream, stream, std::move(req), max_bytes, deadline);
  }

  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(ca_file, ec);
  }
  if (ec) co_return fail("trust store", ec);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  ctx.set_verify_callback(asio::ssl::host_name_verification(host));

  beast::ssl_stream<beast::tcp_stream> stream(ex, ctx);
  boost::system::error_code addr_ec;
  asio::ip::make_address(host, addr_ec);
  // SNI only carries DNS names (RFC 6066 section 3).
  if (addr_ec && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
    co_return fail("tls: cannot set server name");
  }
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_at(deadline);
  auto [cec, ep] = co_await tcp_layer.async_connect(results, kNoThrow);
  (void)ep;
  if (cec == beast::error::timeout) co_return fail("timeout");
  if (cec) co_return fail("connect", cec);
  tcp_layer.expires_at(deadline);
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kNoThrow);
  if (hec == beast::error::timeout) co_return fail("timeout");
  if (hec) co_return fail("tls handshake", hec);
  FetchOutcome out = co_await exchange(stream, tcp_layer, std::move(req), max_bytes, deadline);
  // No TLS shutdown: the body is complete (Content-Length or chunked) and the connection is
  // closed right away, so waiting for the peer's close_notify would only add latency.
  co_return out;
}

}  // namespace

HttpJwksFetcher::HttpJwksFetcher(const std::string& url, JwksFetcherOptions options)
    : url_(url), options_(std::move(options)), state_(std::make_shared<State>()) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw std::invalid_argument("JWKS URL '" + url + "' is not a valid URL");
  const auto& u = *parsed;
  if (u.scheme_id() == boost::urls::scheme::https) {
    target_.tls = true;
    target_.port = 443;
  } else if (u.scheme_id() != boost::urls::scheme::http) {
    throw std::invalid_argument("JWKS URL '" + url + "' must use http:// or https://");
  }
  if (u.has_userinfo()) {
    throw std::invalid_argument("JWKS URL '" + url + "' must not carry credentials");
  }
  switch (u.host_type()) {
    case boost::urls::host_type::ipv6:
      target_.host = u.host_ipv6_address().to_string();
      break;
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::name:
      target_.host = u.host();
      break;
    default:
      target_.host.clear();
  }
  if (target_.host.empty()) throw std::invalid_argument("JWKS URL '" + url + "' has no host");
  if (u.has_port()) {
    if (u.port_number() == 0) throw std::invalid_argument("JWKS URL '" + url + "' has a bad port");
    target_.port = u.port_number();
  }
  target_.host_header = std::string(u.encoded_host_and_port());
  target_.path = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) target_.path += "?" + std::string(u.encoded_query());
  if (options_.timeout <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("JWKS fetch timeout must be positive");
  }
}

std::optional<std::string> HttpJwksFetcher::fetch() const {
  FetchOutcome out;
  try {
    asio::io_context io(1);
    const auto deadline = Clock::now() + options_.timeout;
    bool done = false;
    asio::co_spawn(io,
                   fetch_once(target_.tls, target_.host, target_.port, target_.host_header,
                              target_.path, options_.max_bytes, options_.ca_file, deadline),
                   [&](std::exception_ptr e, FetchOutcome result) {
                     done = true;
                     out = e ? fail("internal error") : std::move(result);
                   });
    io.run_until(deadline);
    if (!done) out = fail("timeout");
    // Leaving the scope destroys the io_context and with it any operation still pending.
  } catch (const std::exception& e) {
    out = fail(std::string("internal error: ") + e.what());
  }
  std::lock_guard lock(state_->mu);
  state_->last_error = out.error;
  return std::move(out.body);
}

std::string HttpJwksFetcher::last_error() const {
  std::lock_guard lock(state_->mu);
  return state_->last_error;
}

namespace {

// Fetches every URL and serves the union of their keys; see make_jwks_fetcher.
class MultiJwksFetcher {
 public:
  MultiJwksFetcher(const std::vector<std::string>& urls, const JwksFetcherOptions& options) {
    for (const auto& url : urls) sources_.push_back({HttpJwksFetcher(url, options), {}});
  }

  std::optional<std::string> operator()() {
    nlohmann::json all = nlohmann::json::array();
    bool any_fresh = false;
    for (auto& source : sources_) {
      if (auto body = source.fetcher.fetch()) {
        auto doc = nlohmann::json::parse(*body, nullptr, false);
        if (!doc.is_discarded() && doc.is_object() && doc.contains("keys") &&
            doc["keys"].is_array()) {
          source.last_good_keys = std::move(doc["keys"]);
          any_fresh = true;
        }
      }
      if (source.last_good_keys.is_array()) {
        for (auto& k : source.last_good_keys) all.push_back(k);
      }
    }
    if (!any_fresh) return std::nullopt;
    return nlohmann::json{{"keys", std::move(all)}}.dump();
  }

 private:
  struct Source {
    HttpJwksFetcher fetcher;
    nlohmann::json last_good_keys;  // null until the first good answer
  };
  std::vector<Source> sources_;
};

}  // namespace

JwksCache::Fetcher make_jwks_fetcher(const std::vector<std::string>& urls,
                                     JwksFetcherOptions options) {
  if (urls.empty()) throw std::invalid_argument("no JWKS URL given");
  if (urls.size() == 1) {
    HttpJwksFetcher one(urls.front(), std::move(options));
    return [one] { return one.fetch(); };
  }
  // std::function needs a copyable callable; the state is shared by the copies, which JwksCache
  // only ever calls from one thread at a time.
  auto multi = std::make_shared<MultiJwksFetcher>(urls, options);
  return [multi] { return (*multi)(); };
}

}  // namespace gatewayd::auth
