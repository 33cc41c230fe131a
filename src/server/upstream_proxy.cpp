#include "server/upstream_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
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
#include "observability/span.hpp"
#include "observability/span_exporter.hpp"
#include "server/head_writer.hpp"
#include "server/header_rules.hpp"
#include "server/worker.hpp"
#include "upstream/service_table.hpp"

namespace gatewayd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

namespace {

// One relay step: a block of the worker's pool.
constexpr std::size_t kBodyChunk = BlockPool::kBlockSize;
// Response bodies of known length up to this size are relayed behind the head (see
// relay_response).
constexpr std::size_t kSmallBody = 2048;
constexpr auto kTunnelIdle = std::chrono::minutes(10);

using ResponseParser = http::response_parser<http::buffer_body>;
using upstream::AttemptOutcome;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Makes room for reads as large as one relay step, unless the rest of the body is already
// buffered (a small body arrives with its head): then no read follows and the buffer stays small.
template <class Buffer, bool isRequest>
void reserve_for_body(Buffer& buffer, const http::basic_parser<isRequest>& parser) {
  const auto remaining = parser.content_length_remaining();
  if (remaining && *remaining <= buffer.size()) return;
  buffer.reserve(kBodyChunk);
}

bool expects_continue(const http::fields& f) {
  const auto it = f.find(http::field::expect);
  return it != f.end() && iequals(it->value(), "100-continue");
}

std::string host_header(const upstream::Endpoint& ep) {
  const bool default_port =
      (ep.scheme() == "http" && ep.port() == 80) || (ep.scheme() == "https" && ep.port() == 443);
  std::string h = ep.host().find(':') != std::string::npos ? "[" + ep.host() + "]" : ep.host();
  if (!default_port) h += ":" + std::to_string(ep.port());
  return h;
}

// Copies bytes one way until EOF. Plain TCP on both sides: then half-closes the other side so
// the peer sees the end and the opposite direction can still drain.
// With TLS on either side a half-close cannot be passed on (Asio sends close_notify only as
// part of a full shutdown, which reads), so the first direction to end stops the other
// (`stop`, then cancelling its pending read) and the tunnel ends; the session then closes its
// TLS stream with close_notify.
asio::awaitable<void> pipe(AnyStream& from, AnyStream& to, bool tls, bool& stop) {
  std::unique_ptr<char[]> buf(new char[kBodyChunk]);
  while (!stop) {
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
  if (!tls) {
    to.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  } else if (!stop) {
    stop = true;
    to.tcp().cancel();  // the opposite direction's read
  }
}

AttemptOutcome outcome_of(const error_code& ec) {
  if (ec == beast::error::timeout) return AttemptOutcome::timeout();
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::connection_refused ||
      ec == asio::error::broken_pipe || ec == asio::error::host_unreachable ||
      ec == asio::error::network_unreachable || ec == asio::error::host_not_found ||
      ec == asio::error::connection_aborted) {
    return AttemptOutcome::connect_error();
  }
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return AttemptOutcome::protocol_error();
  }
  return AttemptOutcome::connect_error();
}

LocalReply reply_for_failure(const AttemptOutcome& outcome) {
  switch (outcome.error) {
    case upstream::AttemptError::kTimeout:
      return {ErrorCode::kUpstreamTimeout, "upstream did not answer in time"};
    case upstream::AttemptError::kProtocol:
      return {ErrorCode::kBadGateway, "upstream sent an invalid response"};
    default:
      return {ErrorCode::kBadGateway, "upstream connection failed"};
  }
}

// One proxied exchange: the request is prepared once, then tried on one or more endpoints
// (retries, stale pooled connections), then the chosen response is relayed downstream.
class ProxyExchange {
 public:
  ProxyExchange(Worker& worker, RequestContext& ctx, Downstream& down,
                const upstream::ServiceEndpoints& service)
      : worker_(worker),
        ctx_(ctx),
        down_(down),
        service_(service),
        route_(ctx.route()),
        settings_(worker.settings()),
        req_(down.parser.get()),
        client_version_(req_.version()),
        head_(down.scratch),
        spans_(ctx.trace_sampled ? worker.state().spans : nullptr) {}

  asio::awaitable<std::optional<LocalReply>> run();

 private:
  enum class BodyMode { kNone, kKept, kStreamed };

  // The result of one attempt at one endpoint.
  struct Attempt {
    AttemptOutcome outcome;
    std::optional<LocalReply> downstream_failure;  // the client side failed: stop here
  };

  void prepare_request();
  asio::awaitable<std::optional<LocalReply>> send_continue_once();
  asio::awaitable<std::optional<LocalReply>> read_client_chunk();
  asio::awaitable<std::optional<LocalReply>> keep_body();
  asio::awaitable<Attempt> try_endpoint(upstream::Endpoint& endpoint);
  asio::awaitable<Attempt> exchange_head(upstream::Endpoint& endpoint, ConnectionPool::Reuse reuse,
                                         bool& stale);
  asio::awaitable<error_code> send_request();
  asio::awaitable<void> tunnel();
  asio::awaitable<void> relay_response();
  // Kept out of run(): locals of a coroutine live in its frame, even on cold paths.
  LocalReply circuit_open_reply(const upstream::CircuitPermit& permit) const;
  void log_retry(const AttemptOutcome& outcome, const upstream::RetryVerdict& verdict,
                 const upstream::Endpoint& endpoint) const;
  asio::awaitable<void> back_off(std::chrono::milliseconds delay);
  std::chrono::milliseconds try_timeout() const {
    const auto t = route_.retry.per_try_timeout;
    return t.count() > 0 && t < route_.timeout ? t : route_.timeout;
  }
  char* chunk() {
    if (!chunk_) chunk_ = take_block(worker_.blocks());
    return chunk_.get();
  }
  // Client spans, one per attempt, only for sampled requests: the span starts before the
  // connection is acquired, and the traceparent sent on that attempt names it as the parent.
  void begin_attempt_span(const upstream::Endpoint& endpoint, unsigned attempt);
  void end_attempt_span(const AttemptOutcome& outcome, std::string_view error_type = {});

  Worker& worker_;
  // Taken from the worker on the first https attempt and kept to the end of the exchange (a
  // reload may replace the worker's meanwhile); plain exchanges never touch it.
  std::shared_ptr<const UpstreamTls> upstream_tls_;
  RequestContext& ctx_;
  Downstream& down_;
  const upstream::ServiceEndpoints& service_;
  const RouteConfig& route_;
  const Settings& settings_;
  http::request<http::buffer_body>& req_;
  // The client's HTTP version (the request itself goes upstream as HTTP/1.1): chunked framing
  // is only for HTTP/1.1 clients.
  unsigned client_version_;

  BodyMode body_mode_ = BodyMode::kNone;
  std::string kept_body_;
  // The formatted head being sent (request, then response), in the connection's buffer; a
  // small response body of known length follows the response head in it.
  std::string& head_;
  Block chunk_;
  bool upgrade_ = false;
  bool want_continue_ = false;
  bool continue_sent_ = false;
  bool request_sent_ = false;
  std::optional<LocalReply> pending_client_failure_;
  UpstreamConnectionPtr conn_;
  std::optional<ResponseParser> rp_;
  tracing::SpanExporter* spans_;                 // nullptr: the request is not traced
  std::unique_ptr<tracing::Span> attempt_span_;  // on the heap: only sampled requests
};

void ProxyExchange::begin_attempt_span(const upstream::Endpoint& endpoint, unsigned attempt) {
  if (spans_ == nullptr) return;
  const auto trace_id = tracing::TraceId::from_hex(ctx_.trace_id);
  const auto parent = tracing::SpanId::from_hex(ctx_.span_id);
  if (!trace_id || !parent) return;
  attempt_span_ = std::make_unique<tracing::Span>();
  auto& span = *attempt_span_;
  span.kind = tracing::SpanKind::kClient;
  span.name.reserve(ctx_.method.size() + 1 + route_.service.size());
  span.name.append(ctx_.method).append(" ").append(route_.service);
  span.trace_id = *trace_id;
  span.parent_span_id = *parent;
  span.span_id = tracing::random_span_id();
  span.start_unix_nano = tracing::unix_nanos_now();
  span.attributes.reserve(10);
  span.set("http.request.method", ctx_.method);
  span.set("http.route", route_.path);
  span.set("gatewayd.route", route_.name);
  span.set("gatewayd.service", route_.service);
  span.set("gatewayd.endpoint", endpoint.id());
  span.set("server.address", endpoint.host());
  span.set("server.port", endpoint.port());
  span.set("gatewayd.retry", attempt - 1);
  if (attempt > 1) span.set("http.request.resend_count", attempt - 1);

  char traceparent[tracing::kTraceparentLength];
  tracing::write_traceparent(traceparent, span.trace_id, span.span_id, true);
  req_.set("traceparent", std::string_view(traceparent, sizeof traceparent));
}

void ProxyExchange::end_attempt_span(const AttemptOutcome& outcome, std::string_view error_type) {
  if (!attempt_span_) return;
  auto& span = *attempt_span_;
  if (outcome.error == upstream::AttemptError::kNone && outcome.status != 0) {
    span.set("http.response.status_code", outcome.status);
    if (outcome.status >= 500 && error_type.empty()) {
      span.set("error.type", std::to_string(outcome.status));
      span.status = tracing::StatusCode::kError;
    }
  } else if (error_type.empty()) {
    error_type = error_code_name(reply_for_failure(outcome).code);
  }
  if (!error_type.empty()) {
    span.set("error.type", error_type);
    span.status = tracing::StatusCode::kError;
  }
  span.end();
  spans_->submit(std::move(span));
  attempt_span_.reset();
}

void ProxyExchange::prepare_request() {
  auto& req = req_;
  upgrade_ = is_upgrade_request(req);
  const bool has_body = !down_.parser.is_done();
  want_continue_ = has_body && expects_continue(req);

  // The upstream sees the normalised path the router matched (or the configured rewrite); an
  // untouched target is forwarded byte for byte, query string included.
  if (route_.strip_prefix || route_.rewrite_path || ctx_.target.changed) {
    std::string target = upstream_path(route_, ctx_.match, ctx_.target.path);
    if (ctx_.target.has_query) {
      target += '?';
      target.append(ctx_.target.query.data(), ctx_.target.query.size());
    }
    req.target(target);
  }
  req.version(11);
  strip_hop_by_hop(req, upgrade_);
  req.erase(http::field::expect);
  set_forwarded_headers(req, {ctx_.client_ip, ctx_.peer_trusted,
                              down_.stream.is_tls() ? "https" : "http", ctx_.request_id});
  for (const auto& [name, value] : route_.headers) req.set(name, value);
  if (!route_.forward_authorization) req.erase(http::field::authorization);
  if (!ctx_.traceparent.empty()) {
    req.set("traceparent", ctx_.traceparent);
    if (ctx_.tracestate.empty()) {
      req.erase("tracestate");
    } else {
      req.set("tracestate", ctx_.tracestate);
    }
  }

  if (!has_body) {
    body_mode_ = BodyMode::kNone;
    return;
  }
  // A body is kept in memory for replay only when a retry could use it: the route retries,
  // the method may be retried, and the announced length fits the policy's limit.
  const auto& retry = route_.retry;
  const auto length = down_.parser.content_length();
  const bool retryable_method = upstream::is_idempotent(ctx_.method) || retry.retry_non_idempotent;
  if (retry.retry_count > 0 && retryable_method && length &&
      upstream::body_fits_for_retry(retry, *length)) {
    body_mode_ = BodyMode::kKept;
  } else {
    body_mode_ = BodyMode::kStreamed;
    if (!length) req.chunked(true);
  }
}

asio::awaitable<std::optional<LocalReply>> ProxyExchange::send_continue_once() {
  if (!want_continue_ || continue_sent_) co_return std::nullopt;
  // The gateway answers Expect itself once the request passed routing and the filters, so a
  // rejected client never uploads its body.
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  down_.stream.expires_after(settings_.body_timeout);
  auto [wec, n] = co_await asio::async_write(down_.stream, asio::buffer(kContinue), use_tuple);
  if (wec) {
    down_.keep_alive = false;
    co_return LocalReply{ErrorCode::kBadRequest, "client went away"};
  }
  continue_sent_ = true;
  co_return std::nullopt;
}

// Reads the next piece of the client's body into chunk(); req_.body() describes it.
asio::awaitable<std::optional<LocalReply>> ProxyExchange::read_client_chunk() {
  // Beast sizes each socket read by the buffer's free capacity (512 bytes at least): without
  // room reserved, a body would arrive in 512-byte reads.
  reserve_for_body(down_.buffer, down_.parser);
  req_.body().data = chunk();
  req_.body().size = kBodyChunk;
  down_.stream.expires_after(settings_.body_timeout);
  auto [rec, n] = co_await http::async_read(down_.stream, down_.buffer, down_.parser, use_tuple);
  if (rec == http::error::need_buffer) rec = {};
  if (rec) {
    down_.keep_alive = false;
    if (rec == http::error::body_limit) {
      co_return LocalReply{ErrorCode::kPayloadTooLarge, "request body too large"};
    }
    if (rec == beast::error::timeout) {
      co_return LocalReply{ErrorCode::kRequestTimeout, "request body not received in time"};
    }
    co_return LocalReply{ErrorCode::kBadRequest, "request body could not be read"};
  }
  const std::size_t got = kBodyChunk - req_.body().size;
  down_.bytes_in += got;
  req_.body().size = got;
  req_.body().data = chunk();
  req_.body().more = !down_.parser.is_done();
  co_return std::nullopt;
}

asio::awaitable<std::optional<LocalReply>> ProxyExchange::keep_body() {
  if (auto failure = co_await send_continue_once()) co_return failure;
  if (const auto length = down_.parser.content_length()) kept_body_.reserve(*length);
  while (!down_.parser.is_done()) {
    if (auto failure = co_await read_client_chunk()) co_return failure;
    kept_body_.append(chunk(), req_.body().size);
  }
  down_.body_consumed = true;
  co_return std::nullopt;
}

asio::awaitable<error_code> ProxyExchange::send_request() {
  // Formatted again for every attempt: the Host header and the traceparent differ per attempt.
  head_.clear();
  append_head(req_, head_);
  std::string_view head = head_;
  if (body_mode_ != BodyMode::kStreamed) {
    const std::array<asio::const_buffer, 2> message{asio::buffer(head), asio::buffer(kept_body_)};
    conn_->stream.expires_after(try_timeout());
    auto [wec, n] = co_await asio::async_write(conn_->stream, message, use_tuple);
    co_return wec;
  }
  // The head goes out with the first piece of the body (one write for a small body).
  BodyFramer framer(req_.chunked());
  do {
    std::size_t size = 0;
    if (!down_.parser.is_done()) {
      if (auto failure = co_await read_client_chunk()) {
        pending_client_failure_ = std::move(failure);
        co_return asio::error::operation_aborted;
      }
      size = req_.body().size;
    }
    const bool last = down_.parser.is_done();
    if (size == 0 && !last) continue;
    conn_->stream.expires_after(try_timeout());
    auto [wec, n] = co_await asio::async_write(conn_->stream,
                                               framer.frame(head, chunk(), size, last), use_tuple);
    if (wec) co_return wec;
  } while (!down_.parser.is_done());
  down_.body_consumed = true;
  co_return error_code{};
}
asio::awaitable<ProxyExchange::Attempt> ProxyExchange::exchange_head(upstream::Endpoint& endpoint,
                                                                     ConnectionPool::Reuse reuse,
                                                                     bool& stale) {
  stale = false;
  // https endpoints: the service's TLS settings, a pool of their own (the plain path builds no
  // key and looks nothing up).
  const UpstreamTlsEntry* tls = nullptr;
  std::string tls_key;
  if (endpoint.scheme() == "https") {
    if (!upstream_tls_) upstream_tls_ = worker_.upstream_tls();
    if (!upstream_tls_) {
      co_return Attempt{AttemptOutcome::connect_error(), std::nullopt};
    }
    tls = &upstream_tls_->for_service(endpoint.service());
    tls_key = ConnectionPool::tls_pool_key(endpoint.id(), endpoint.service());
  }
  auto [cec, c] = co_await worker_.pool().acquire(tls ? std::string_view(tls_key) : endpoint.id(),
                                                  endpoint.host(), endpoint.port(),
                                                  route_.connect_timeout, reuse, tls);
  if (cec) {
    logging::error().warn("upstream connect to {} ({}) failed: {}", endpoint.id(),
                          endpoint.service(), cec.message());
    co_return Attempt{
        cec == beast::error::timeout ? AttemptOutcome::timeout() : AttemptOutcome::connect_error(),
        std::nullopt};
  }
  conn_ = std::move(c);
  req_.set(http::field::host, host_header(endpoint));
  if (body_mode_ == BodyMode::kStreamed) {
    if (auto failure = co_await send_continue_once()) co_return Attempt{{}, std::move(failure)};
  }
  const error_code send_ec = co_await send_request();
  if (pending_client_failure_) {
    conn_.reset();
    co_return Attempt{{}, std::move(pending_client_failure_)};
  }
  request_sent_ = !send_ec;

  // Read the response head, skipping interim 1xx responses other than 101. A send failure
  // still reads: the upstream may have answered early (413, 401) and closed its side.
  conn_->stream.expires_after(try_timeout());
  error_code rec;
  for (;;) {
    rp_.emplace();
    rp_->body_limit(boost::none);
    if (ctx_.method == "HEAD") rp_->skip(true);
    std::tie(rec, std::ignore) =
        co_await http::async_read_header(conn_->stream, conn_->buffer, *rp_, use_tuple);
    if (rec) break;
    const unsigned status = rp_->get().result_int();
    if (status >= 200 || status == 101) break;
  }
  if (!rec) co_return Attempt{AttemptOutcome::response(rp_->get().result_int()), std::nullopt};

  // A pooled connection the upstream closed while it sat idle is not the endpoint's fault:
  // the caller tries once more on a fresh connection when the body can be sent again.
  stale = conn_->reused && body_mode_ != BodyMode::kStreamed &&
          (rec == http::error::end_of_stream || rec == asio::error::eof ||
           rec == asio::error::connection_reset || send_ec);
  conn_.reset();
  rp_.reset();
  co_return Attempt{outcome_of(rec), std::nullopt};
}

asio::awaitable<ProxyExchange::Attempt> ProxyExchange::try_endpoint(upstream::Endpoint& endpoint) {
  // A request that can be sent again (see `stale` in exchange_head) may skip the pool's
  // liveness probe: a connection the upstream closed meanwhile costs one more attempt, rarely.
  const bool resendable = body_mode_ != BodyMode::kStreamed && upstream::is_idempotent(ctx_.method);
  bool stale = false;
  Attempt attempt = co_await exchange_head(
      endpoint, resendable ? ConnectionPool::Reuse::kResendable : ConnectionPool::Reuse::kProbed,
      stale);
  if (stale) attempt = co_await exchange_head(endpoint, ConnectionPool::Reuse::kNever, stale);
  co_return attempt;
}

LocalReply ProxyExchange::circuit_open_reply(const upstream::CircuitPermit& permit) const {
  LocalReply reply{ErrorCode::kCircuitOpen, "circuit open for service " + service_.name()};
  reply.headers.emplace_back("Retry-After", std::to_string(permit.retry_after_seconds()));
  return reply;
}

void ProxyExchange::log_retry(const AttemptOutcome& outcome, const upstream::RetryVerdict& verdict,
                              const upstream::Endpoint& endpoint) const {
  logging::error().info("retrying {} {} after {} from {} ({} ms backoff)", ctx_.method,
                        ctx_.target.path,
                        outcome.error == upstream::AttemptError::kNone
                            ? std::to_string(outcome.status)
                            : std::string(upstream::retry_reason_name(verdict.reason)),
                        endpoint.id(), verdict.backoff.count());
}

asio::awaitable<void> ProxyExchange::back_off(std::chrono::milliseconds delay) {
  asio::steady_timer wait(worker_.io(), delay);
  co_await wait.async_wait(use_tuple);
}

asio::awaitable<std::optional<LocalReply>> ProxyExchange::run() {
  prepare_request();
  auto& breaker = service_.breaker();
  const upstream::CircuitPermit service_permit = breaker.allow();
  // Open service: answer at once without touching the upstream.
  if (!service_permit) co_return circuit_open_reply(service_permit);
  service_.record_request();
  if (body_mode_ == BodyMode::kKept) {
    if (auto failure = co_await keep_body()) {
      breaker.on_cancel(service_permit);
      co_return failure;
    }
  }

  const auto upstream_started = Clock::now();
  upstream::ExcludeSet tried;
  std::optional<upstream::ActiveRequest> active;
  AttemptOutcome final_outcome = AttemptOutcome::connect_error();
  for (unsigned attempts = 1;; ++attempts) {
    const upstream::Selection selection = service_.select(tried);
    if (!selection) {
      if (attempts == 1) {
        breaker.on_cancel(service_permit);
        co_return LocalReply{ErrorCode::kUpstreamUnavailable,
                             "no healthy endpoint for service " + service_.name()};
      }
      break;  // answer with the last attempt's outcome
    }
    tried.add(selection.endpoint);
    down_.upstream = selection.endpoint->id();
    active.reset();
    active.emplace(*selection.endpoint);

    begin_attempt_span(*selection.endpoint, attempts);
    Attempt attempt = co_await try_endpoint(*selection.endpoint);
    if (attempt.downstream_failure) {
      end_attempt_span(attempt.outcome, error_code_name(attempt.downstream_failure->code));
      service_.release(selection);
      breaker.on_cancel(service_permit);
      co_return std::move(attempt.downstream_failure);
    }
    service_.report(selection, attempt.outcome);
    final_outcome = attempt.outcome;

    const upstream::RetryContext retry_ctx{
        ctx_.method,  body_mode_ != BodyMode::kStreamed, false, attempts, service_.clock().now(),
        ctx_.deadline};
    const upstream::RetryVerdict verdict =
        service_.should_retry(route_.retry, attempt.outcome, retry_ctx);
    // A retry needs somewhere to go: with every endpoint out of rotation (breakers open,
    // ejected), the answer in hand is relayed rather than thrown away.
    if (!verdict || !service_.has_available_endpoint()) break;
    end_attempt_span(attempt.outcome);
    log_retry(attempt.outcome, verdict, *selection.endpoint);
    conn_.reset();
    rp_.reset();
    if (verdict.backoff.count() > 0) co_await back_off(verdict.backoff);
  }
  breaker.record(service_permit, final_outcome);

  if (final_outcome.error != upstream::AttemptError::kNone) {
    end_attempt_span(final_outcome);
    co_return reply_for_failure(final_outcome);
  }
  if (!conn_ || !rp_) {
    end_attempt_span(final_outcome);
    co_return LocalReply{ErrorCode::kUpstreamUnavailable,
                         "no healthy endpoint left for service " + service_.name()};
  }
  if (upgrade_ && rp_->get().result_int() == 101) {
    co_await tunnel();
    end_attempt_span(final_outcome);
    co_return std::nullopt;
  }
  co_await relay_response();
  // The relayed attempt's span covers the response body too; a failure mid-body names it.
  end_attempt_span(final_outcome, down_.error_code);
  worker_.metrics().record_upstream(
      route_.service, std::chrono::duration<double>(Clock::now() - upstream_started).count());
  co_return std::nullopt;
}

asio::awaitable<void> ProxyExchange::tunnel() {
  auto& res = rp_->get();
  strip_hop_by_hop(res, true);
  res.set("X-Request-Id", ctx_.request_id);
  http::serializer<false, http::buffer_body> rs{res};
  down_.stream.expires_after(settings_.body_timeout);
  auto [wec, n] = co_await http::async_write_header(down_.stream, rs, use_tuple);
  down_.status = res.result_int();
  down_.response_started = true;
  down_.keep_alive = false;
  down_.bytes_out += n;
  if (wec) co_return;
  if (conn_->buffer.size() > 0) {
    auto [e, w] = co_await asio::async_write(down_.stream, conn_->buffer.data(), use_tuple);
    if (e) co_return;
    conn_->buffer.consume(conn_->buffer.size());
  }
  if (down_.buffer.size() > 0) {
    auto [e, w] = co_await asio::async_write(conn_->stream, down_.buffer.data(), use_tuple);
    if (e) co_return;
    down_.buffer.consume(down_.buffer.size());
  }
  // Each side's end of stream is what ends its direction (see TimedSocket::set_eager_reads).
  down_.stream.set_eager_reads(true);
  conn_->stream.set_eager_reads(true);
  const bool tls = down_.stream.is_tls() || conn_->stream.is_tls();
  bool stop = false;
  co_await (pipe(down_.stream, conn_->stream, tls, stop) &&
            pipe(conn_->stream, down_.stream, tls, stop));
}

asio::awaitable<void> ProxyExchange::relay_response() {
  auto& res = rp_->get();
  const unsigned status = res.result_int();
  const bool is_head = ctx_.method == "HEAD";
  const bool no_body = is_head || status == 204 || status == 304 || status < 200;
  const bool upstream_chunked = res.chunked();
  const bool has_length = rp_->content_length().has_value();
  const bool upstream_keep_alive = rp_->keep_alive();
  strip_hop_by_hop(res, false);
  res.version(11);
  res.set("X-Request-Id", ctx_.request_id);
  for (const auto& [name, value] : ctx_.response_headers) res.insert(name, value);
  for (auto it = worker_.filters().rbegin(); it != worker_.filters().rend(); ++it) {
    (*it)->on_response(ctx_, res);
  }
  if (no_body) {
    if (is_head && upstream_chunked) res.chunked(true);
  } else if (!has_length) {
    // Close-delimited or chunked upstream bodies are re-framed: chunked for HTTP/1.1 clients,
    // close-delimited for HTTP/1.0 ones.
    if (client_version_ >= 11) {
      res.chunked(true);
    } else {
      down_.keep_alive = false;
    }
  }
  res.keep_alive(down_.keep_alive);
  down_.status = status;
  down_.response_started = true;

  head_.clear();
  append_head(res, head_);
  std::string_view head = head_;
  if (no_body) {
    down_.stream.expires_after(settings_.body_timeout);
    auto [wec, n] = co_await asio::async_write(down_.stream, asio::buffer(head), use_tuple);
    down_.bytes_out += n;
    if (wec) down_.keep_alive = false;
  } else {
    reserve_for_body(conn_->buffer, *rp_);  // see read_client_chunk
    // A close-delimited body ends at the upstream's FIN (see TimedSocket::set_eager_reads).
    if (!has_length && !upstream_chunked) conn_->stream.set_eager_reads(true);
    BodyFramer framer(res.chunked());
    // A small body of known length is read into the connection's buffer behind the head, not
    // into a pooled block: with hundreds of exchanges in flight the pool runs past its idle
    // bound and its 32 KiB blocks would go back and forth to malloc.
    const auto length = rp_->content_length();
    const bool small = length && *length <= kSmallBody;
    if (small) head_.resize(head.size() + *length);  // head_ is not resized again below
    char* const piece = small ? head_.data() + head.size() : chunk();
    const std::size_t piece_size = small ? static_cast<std::size_t>(*length) : kBodyChunk;
    head = std::string_view(head_.data(), head.size());
    do {
      std::size_t size = 0;
      if (!rp_->is_done()) {
        res.body().data = piece;
        res.body().size = piece_size;
        conn_->stream.expires_after(route_.timeout);
        auto [rec, n] = co_await http::async_read(conn_->stream, conn_->buffer, *rp_, use_tuple);
        if (rec == http::error::need_buffer) rec = {};
        if (rec) {
          // The response is already under way: the only honest signal left is to close.
          logging::error().warn("upstream {} failed mid-response: {}", down_.upstream,
                                rec.message());
          down_.keep_alive = false;
          down_.error_code = "BAD_GATEWAY";
          conn_.reset();
          co_return;
        }
        size = piece_size - res.body().size;
      }
      const bool last = rp_->is_done();
      // The head is not held back for body bytes that have not arrived yet.
      if (size == 0 && !last && head.empty()) continue;
      down_.stream.expires_after(settings_.body_timeout);
      auto [wec, n] = co_await asio::async_write(down_.stream,
                                                 framer.frame(head, piece, size, last), use_tuple);
      down_.bytes_out += n;
      if (wec) {
        down_.keep_alive = false;
        conn_.reset();
        co_return;
      }
    } while (!rp_->is_done());
  }
  // Reuse only a connection whose exchange completed in both directions.
  if (request_sent_ && rp_->is_done() && upstream_keep_alive) {
    worker_.pool().release(std::move(conn_));
  }
}

}  // namespace

asio::awaitable<std::optional<LocalReply>> forward_upstream(Worker& worker, RequestContext& ctx,
                                                            Downstream& down) {
  // The snapshot stays alive for the whole exchange even if a reload replaces it meanwhile.
  const std::shared_ptr<const upstream::ServiceTable> services = worker.services();
  const upstream::ServiceEndpoints* service =
      services ? services->find(ctx.route().service) : nullptr;
  if (service == nullptr || service->endpoints().empty()) {
    co_return LocalReply{ErrorCode::kUpstreamUnavailable, "service has no endpoints"};
  }
  ProxyExchange exchange(worker, ctx, down, *service);
  co_return co_await exchange.run();
}

}  // namespace gatewayd
