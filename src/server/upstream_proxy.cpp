#include "server/upstream_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <memory>

#include "gatewayd/logging.hpp"
#include "server/header_rules.hpp"
#include "server/worker.hpp"

namespace gatewayd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::size_t kBodyChunk = 32 * 1024;
constexpr auto kTunnelIdle = std::chrono::minutes(10);

using ResponseParser = http::response_parser<http::buffer_body>;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

const InstanceConfig* pick_instance(const ServiceConfig& svc, Worker& worker,
                                    const InstanceConfig* avoid) {
  const auto& list = svc.instances;
  if (list.empty()) return nullptr;
  const auto start = worker.next_round_robin();
  const InstanceConfig* fallback = nullptr;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& inst = list[(start + i) % list.size()];
    if (!inst.healthy) continue;
    if (&inst == avoid) {
      fallback = &inst;
      continue;
    }
    return &inst;
  }
  return fallback;
}

bool expects_continue(const http::fields& f) {
  const auto it = f.find(http::field::expect);
  return it != f.end() && iequals(it->value(), "100-continue");
}

std::string host_header(const InstanceConfig& inst) {
  const bool default_port = (inst.scheme == "http" && inst.port == 80) ||
                            (inst.scheme == "https" && inst.port == 443);
  std::string h = inst.host.find(':') != std::string::npos ? "[" + inst.host + "]" : inst.host;
  if (!default_port) h += ":" + std::to_string(inst.port);
  return h;
}

// Copies bytes one way until EOF, then half-closes the other side so the peer sees the end.
asio::awaitable<void> pipe(beast::tcp_stream& from, beast::tcp_stream& to) {
  std::unique_ptr<char[]> buf(new char[kBodyChunk]);
  for (;;) {
    from.expires_after(kTunnelIdle);
    auto [rec, n] = co_await from.async_read_some(asio::buffer(buf.get(), kBodyChunk), use_tuple);
    if (n > 0) {
      to.expires_after(kTunnelIdle);
      auto [wec, w] = co_await asio::async_write(to, asio::buffer(buf.get(), n), use_tuple);
      if (wec) break;
    }
    if (rec) break;
  }
  error_code ec;
  to.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace

asio::awaitable<std::optional<LocalReply>> forward_upstream(Worker& worker, RequestContext& ctx,
                                                            Downstream& down) {
  const auto& route = ctx.route();
  const auto& settings = worker.settings();
  const auto svc_it = ctx.config->services.find(route.service);
  if (svc_it == ctx.config->services.end() || svc_it->second.instances.empty()) {
    co_return LocalReply{ErrorCode::kUpstreamUnavailable, "service has no endpoints"};
  }
  const ServiceConfig& service = svc_it->second;

  auto& req = down.parser.get();
  const bool upgrade = is_upgrade_request(req);
  const bool has_body = !down.parser.is_done();
  const bool want_continue = has_body && expects_continue(req);
  const bool is_head = ctx.method == "HEAD";
  const bool client_http11 = req.version() >= 11;

  // The upstream sees the normalised path the router matched (or the configured rewrite); an
  // untouched target is forwarded byte for byte, query string included.
  if (route.strip_prefix || route.rewrite_path || ctx.target.changed) {
    std::string target = upstream_path(route, ctx.match, ctx.target.path);
    if (ctx.target.has_query) {
      target += '?';
      target.append(ctx.target.query.data(), ctx.target.query.size());
    }
    req.target(target);
  }
  req.version(11);
  strip_hop_by_hop(req, upgrade);
  strip_identity_headers(req);
  req.erase(http::field::expect);
  set_forwarded_headers(req, {ctx.client_ip, ctx.peer_trusted, "http", ctx.request_id});
  if (ctx.identity) {
    req.set("X-User-Id", ctx.identity->subject);
    req.set("X-Auth-Method", ctx.identity->auth_method);
  }
  for (const auto& [name, value] : route.headers) req.set(name, value);
  if (!route.forward_authorization) req.erase(http::field::authorization);
  if (!ctx.traceparent.empty()) req.set("traceparent", ctx.traceparent);
  if (has_body && !down.parser.content_length()) req.chunked(true);

  std::unique_ptr<char[]> chunk;
  UpstreamConnectionPtr conn;
  std::optional<ResponseParser> rp;
  const InstanceConfig* previous = nullptr;
  bool continue_sent = false;
  bool request_sent = false;
  const auto upstream_started = Clock::now();

  // At most two attempts: the second covers a pooled connection the upstream closed while it
  // sat idle (only when no body was streamed yet) and a refused connect on one endpoint.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const InstanceConfig* inst = pick_instance(service, worker, previous);
    if (inst == nullptr) {
      co_return LocalReply{ErrorCode::kUpstreamUnavailable, "no healthy upstream endpoint"};
    }
    previous = inst;
    down.upstream = inst->id;
    req.set(http::field::host, host_header(*inst));

    auto [cec, c] = co_await worker.pool().acquire(*inst, route.connect_timeout, attempt == 0);
    if (cec) {
      logging::error().warn("upstream connect to {} failed: {}", inst->id, cec.message());
      if (attempt == 0 && service.instances.size() > 1) continue;
      if (cec == beast::error::timeout) {
        co_return LocalReply{ErrorCode::kUpstreamTimeout, "upstream connect timed out"};
      }
      co_return LocalReply{ErrorCode::kBadGateway, "upstream connection failed"};
    }
    conn = std::move(c);

    if (want_continue && !continue_sent) {
      // The gateway answers Expect itself once the request passed routing and the filters, so
      // a rejected client never uploads its body.
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      down.stream.expires_after(settings.body_timeout);
      auto [wec, n] = co_await asio::async_write(down.stream, asio::buffer(kContinue), use_tuple);
      if (wec) {
        down.keep_alive = false;
        co_return std::nullopt;
      }
      continue_sent = true;
    }

    http::serializer<true, http::buffer_body> sr{req};
    error_code send_ec;
    if (!has_body) {
      req.body().data = nullptr;
      req.body().size = 0;
      req.body().more = false;
      conn->stream.expires_after(route.timeout);
      auto [wec, n] = co_await http::async_write(conn->stream, sr, use_tuple);
      send_ec = wec;
    } else {
      if (!chunk) chunk.reset(new char[kBodyChunk]);
      do {
        if (!down.parser.is_done()) {
          req.body().data = chunk.get();
          req.body().size = kBodyChunk;
          down.stream.expires_after(settings.body_timeout);
          auto [rec, n] = co_await http::async_read(down.stream, down.buffer, down.parser, use_tuple);
          if (rec == http::error::need_buffer) rec = {};
          if (rec) {
            down.keep_alive = false;
            if (rec == http::error::body_limit) {
              co_return LocalReply{ErrorCode::kPayloadTooLarge, "request body too large"};
            }
            if (rec == beast::error::timeout) {
              co_return LocalReply{ErrorCode::kRequestTimeout, "request body not received in time"};
            }
            co_return LocalReply{ErrorCode::kBadRequest, "request body could not be read"};
          }
          const std::size_t got = kBodyChunk - req.body().size;
          down.bytes_in += got;
          req.body().size = got;
          req.body().data = chunk.get();
          req.body().more = !down.parser.is_done();
        } else {
          req.body().data = nullptr;
          req.body().size = 0;
          req.body().more = false;
        }
        conn->stream.expires_after(route.timeout);
        auto [wec, n] = co_await http::async_write(conn->stream, sr, use_tuple);
        if (wec == http::error::need_buffer) wec = {};
        if (wec) {
          send_ec = wec;
          break;
        }
      } while (!down.parser.is_done() || !sr.is_done());
      down.body_consumed = down.parser.is_done();
    }
    request_sent = !send_ec && sr.is_done();

    // Read the response head, skipping interim 1xx responses other than 101.
    conn->stream.expires_after(route.timeout);
    error_code rec;
    for (;;) {
      rp.emplace();
      rp->body_limit(boost::none);
      if (is_head) rp->skip(true);
      std::tie(rec, std::ignore) = co_await http::async_read_header(conn->stream, conn->buffer, *rp, use_tuple);
      if (rec) break;
      const unsigned s = rp->get().result_int();
      if (s >= 200 || s == 101) break;
    }
    if (!rec) break;  // a response head arrived (possibly an early one after a send failure)

    const bool stale = conn->reused && !has_body && attempt == 0 &&
                       (rec == http::error::end_of_stream || rec == asio::error::eof ||
                        rec == asio::error::connection_reset || send_ec);
    conn.reset();
    if (stale) continue;
    if (rec == beast::error::timeout) {
      co_return LocalReply{ErrorCode::kUpstreamTimeout, "upstream did not answer in time"};
    }
    co_return LocalReply{ErrorCode::kBadGateway, "upstream closed or sent an invalid response"};
  }
  if (!conn || !rp) co_return LocalReply{ErrorCode::kBadGateway, "upstream connection failed"};

  auto& res = rp->get();
  const unsigned status = res.result_int();

  if (upgrade && status == 101) {
    strip_hop_by_hop(res, true);
    res.set("X-Request-Id", ctx.request_id);
    http::serializer<false, http::buffer_body> rs{res};
    down.stream.expires_after(settings.body_timeout);
    auto [wec, n] = co_await http::async_write_header(down.stream, rs, use_tuple);
    down.status = status;
    down.response_started = true;
    down.keep_alive = false;
    down.bytes_out += n;
    if (wec) co_return std::nullopt;
    if (conn->buffer.size() > 0) {
      auto [e, w] = co_await asio::async_write(down.stream, conn->buffer.data(), use_tuple);
      if (e) co_return std::nullopt;
      conn->buffer.consume(conn->buffer.size());
    }
    if (down.buffer.size() > 0) {
      auto [e, w] = co_await asio::async_write(conn->stream, down.buffer.data(), use_tuple);
      if (e) co_return std::nullopt;
      down.buffer.consume(down.buffer.size());
    }
    co_await (pipe(down.stream, conn->stream) && pipe(conn->stream, down.stream));
    co_return std::nullopt;
  }

  const bool no_body = is_head || status == 204 || status == 304 || status < 200;
  const bool upstream_chunked = res.chunked();
  const bool has_length = rp->content_length().has_value();
  const bool upstream_keep_alive = rp->keep_alive();
  strip_hop_by_hop(res, false);
  res.version(11);
  res.set("X-Request-Id", ctx.request_id);
  for (const auto& [name, value] : ctx.response_headers) res.insert(name, value);
  for (auto it = worker.filters().rbegin(); it != worker.filters().rend(); ++it) {
    (*it)->on_response(ctx, res);
  }
  if (no_body) {
    if (is_head && upstream_chunked) res.chunked(true);
  } else if (!has_length) {
    // Close-delimited or chunked upstream bodies are re-framed: chunked for HTTP/1.1 clients,
    // close-delimited for HTTP/1.0 ones.
    if (client_http11) {
      res.chunked(true);
    } else {
      down.keep_alive = false;
    }
  }
  res.keep_alive(down.keep_alive);
  down.status = status;
  down.response_started = true;

  http::serializer<false, http::buffer_body> rs{res};
  if (no_body) {
    res.body().data = nullptr;
    res.body().size = 0;
    res.body().more = false;
    down.stream.expires_after(settings.body_timeout);
    auto [wec, n] = co_await http::async_write_header(down.stream, rs, use_tuple);
    down.bytes_out += n;
    if (wec) down.keep_alive = false;
  } else {
    if (!chunk) chunk.reset(new char[kBodyChunk]);
    do {
      if (!rp->is_done()) {
        res.body().data = chunk.get();
        res.body().size = kBodyChunk;
        conn->stream.expires_after(route.timeout);
        auto [rec, n] = co_await http::async_read(conn->stream, conn->buffer, *rp, use_tuple);
        if (rec == http::error::need_buffer) rec = {};
        if (rec) {
          // The response is already under way: the only honest signal left is to close.
          logging::error().warn("upstream {} failed mid-response: {}", down.upstream,
                                rec.message());
          down.keep_alive = false;
          down.error_code = "BAD_GATEWAY";
          conn.reset();
          co_return std::nullopt;
        }
        res.body().size = kBodyChunk - res.body().size;
        res.body().data = chunk.get();
        res.body().more = !rp->is_done();
      } else {
        res.body().data = nullptr;
        res.body().size = 0;
        res.body().more = false;
      }
      down.stream.expires_after(settings.body_timeout);
      auto [wec, n] = co_await http::async_write(down.stream, rs, use_tuple);
      down.bytes_out += n;
      if (wec == http::error::need_buffer) wec = {};
      if (wec) {
        down.keep_alive = false;
        conn.reset();
        co_return std::nullopt;
      }
    } while (!rp->is_done() || !rs.is_done());
  }

  worker.metrics().record_upstream(route.service,
                                   std::chrono::duration<double>(Clock::now() - upstream_started).count());
  // Reuse only a connection whose exchange completed in both directions.
  if (request_sent && rp->is_done() && upstream_keep_alive) {
    worker.pool().release(std::move(conn));
  }
  co_return std::nullopt;
}

}  // namespace gatewayd
