#include "server/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>

#include "common/cidr.hpp"
#include "common/on_exit.hpp"
#include "gatewayd/logging.hpp"
#include "gatewayd/metrics.hpp"
#include "gatewayd/records.hpp"
#include "gatewayd/router.hpp"
#include "observability/request_id.hpp"
#include "observability/span.hpp"
#include "observability/span_exporter.hpp"
#include "server/builtin_handlers.hpp"
#include "server/cors_filter.hpp"
#include "server/header_rules.hpp"
#include "server/tls_context.hpp"
#include "server/upstream_proxy.hpp"
#include "server/worker.hpp"

namespace gatewayd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

// Head reads start small and the buffer doubles when a head needs more: an idle keep-alive
// connection then holds about 1 KiB, not a fixed 8 KiB read chunk (10,000 idle clients).
constexpr std::size_t kMinRead = 1024;
// Between requests a buffer grown past this (a large head, a relayed body) is released.
constexpr std::size_t kIdleBufferKeep = 4096;
constexpr std::size_t kBufferSlack = 64 * 1024;  // room for body bytes read past the head

// Host header value without its port ("[::1]:80" -> "[::1]", "a.b:8001" -> "a.b"), lower-cased.
void host_without_port(std::string_view host, std::string& out) {
  out.clear();
  std::size_t end = host.size();
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    end = close == std::string_view::npos ? host.size() : close + 1;
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    end = colon;
  }
  out.reserve(end);
  for (std::size_t i = 0; i < end; ++i) {
    const char c = host[i];
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
}

// A filter's verdict without waiting; false when it must wait (see Filter::decide_now). A
// refusal lands in `reply`. Verdicts stay out of handle_request's frame.
bool decide_now(Filter& filter, RequestContext& ctx, std::optional<LocalReply>& reply) {
  std::optional<Verdict> verdict = filter.decide_now(ctx);
  if (!verdict) return false;
  if (auto* refused = std::get_if<LocalReply>(&*verdict)) reply = std::move(*refused);
  return true;
}

asio::awaitable<void> decide_later(Filter& filter, RequestContext& ctx,
                                   std::optional<LocalReply>& reply) {
  Verdict verdict = co_await filter.on_request(ctx);
  if (auto* refused = std::get_if<LocalReply>(&verdict)) reply = std::move(*refused);
}

// Methods are matched upper-case (Beast keeps an extension method as the client sent it).
void upper_case(std::string& s) {
  for (auto& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
}

bool has_obsolete_fold(std::string_view head) {
  // A header line starting with SP/HT continues the previous one (obs-fold, RFC 9112 5.2):
  // rejected, since proxies that unfold differently are how requests get smuggled.
  for (auto pos = head.find("\r\n"); pos != std::string_view::npos && pos + 2 < head.size();
       pos = head.find("\r\n", pos + 2)) {
    const char next = head[pos + 2];
    if (next == ' ' || next == '\t') return true;
  }
  return false;
}

bool head_has_bare_cr_or_nul(std::string_view head) {
  for (std::size_t i = 0; i < head.size(); ++i) {
    const char c = head[i];
    if (c == '\0') return true;
    if (c == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n')) return true;
  }
  return false;
}

}  // namespace

Session::Session(Worker& worker, asio::ip::tcp::socket socket,
                 std::shared_ptr<asio::ssl::context> tls)
    : worker_(worker),
      tls_context_(std::move(tls)),
      stream_(tls_context_ ? AnyStream(std::move(socket), *tls_context_)
                           : AnyStream(std::move(socket))),
      buffer_(worker.settings().max_header_bytes + kBufferSlack,
              PooledAllocator<char>(&worker.blocks())) {
  error_code ec;
  const auto peer = stream_.socket().remote_endpoint(ec);
  if (!ec) client_ip_ = peer.address().to_string();
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  peer_trusted_ = !ec && cidr_list_contains(worker.trusted_proxies(), peer.address());
  worker_.register_session(this);
  worker_.state().connections.fetch_add(1, std::memory_order_relaxed);
  worker_.metrics().active_connections.inc();
  worker_.metrics().connections_total.inc();
}

Session::~Session() {
  worker_.unregister_session(this);
  worker_.state().connections.fetch_sub(1, std::memory_order_relaxed);
  worker_.metrics().active_connections.dec();
}

void Session::start(Worker& worker, asio::ip::tcp::socket socket) {
  auto session = std::make_shared<Session>(worker, std::move(socket), worker.tls_context());
  asio::co_spawn(worker.io(), session->run(), [session](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      logging::error().error("session ended by an exception: {}", ex.what());
    }
  });
}

void Session::close_if_idle() {
  closing_ = true;
  if (idle_) {
    error_code ec;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }
}

void Session::force_close() {
  closing_ = true;
  error_code ec;
  stream_.socket().close(ec);
}

asio::awaitable<bool> Session::handshake() {
  static metrics::Counter& failures = metrics::Registry::global().counter(
      "gatewayd_tls_handshakes_total", "TLS handshakes on the public listener by result",
      {{"result", "failure"}});
  static metrics::Counter& successes = metrics::Registry::global().counter(
      "gatewayd_tls_handshakes_total", "TLS handshakes on the public listener by result",
      {{"result", "success"}});
  stream_.expires_after(worker_.settings().tls_handshake_timeout);
  auto [ec] = co_await stream_.tls()->async_handshake(asio::ssl::stream_base::server,
                                                      asio::as_tuple(asio::use_awaitable));
  if (ec) {
    failures.inc();
    logging::error().debug("TLS handshake from {} failed: {}", client_ip_,
                           tls::handshake_failure(stream_.tls()->native_handle(), ec));
    co_return false;
  }
  successes.inc();
  co_return true;
}

asio::awaitable<void> Session::close_tls() {
  // close_notify, then wait (briefly) for the client's: the TLS form of the lingering close.
  stream_.expires_after(std::chrono::seconds(2));
  co_await stream_.tls()->async_shutdown(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> Session::run() {
  if (stream_.is_tls() && !co_await handshake()) {
    error_code ec;
    stream_.socket().close(ec);
    co_return;
  }
  bool first = true;
  for (;;) {
    idle_ = true;
    const HeadStatus status = co_await read_head(first);
    idle_ = false;
    first = false;
    if (status == HeadStatus::kClosed) break;
    if (status != HeadStatus::kOk) {
      RequestContext& ctx = ctx_;
      ctx.started = Clock::now();
      ctx.request_id = generate_request_id();
      Downstream down{stream_, buffer_, *parser_, scratch_};
      down.keep_alive = false;
      LocalReply reply;
      switch (status) {
        case HeadStatus::kTimeout:
          reply = {ErrorCode::kRequestTimeout, "request head not received in time"};
          break;
        case HeadStatus::kTooLarge:
          reply = {ErrorCode::kHeadersTooLarge, "request header fields too large"};
          break;
        case HeadStatus::kUriTooLong:
          reply = {ErrorCode::kUriTooLong, "request target too long"};
          break;
        default:
          reply = {ErrorCode::kBadRequest, "malformed request"};
      }
      co_await reply_error(ctx, down, reply);
      complete(ctx, down);
      break;
    }
    const bool keep = co_await handle_request();
    if (!keep || closing_ || worker_.state().draining.load(std::memory_order_relaxed)) break;
  }
  error_code ec;
  if (stream_.is_tls()) {
    if (stream_.socket().is_open()) co_await close_tls();
    stream_.socket().close(ec);
    co_return;
  }
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (!ec && stream_.socket().is_open()) co_await linger();
  stream_.socket().close(ec);
}

asio::awaitable<void> Session::linger() {
  // Closing a socket with unread input makes the kernel send a reset, which can destroy the
  // response still in flight (a 413 while the client is uploading). Like NGINX's lingering
  // close, read and discard what the client still sends, bounded in time and bytes, so it
  // sees our answer and then the end of the stream.
  constexpr auto kLingerTime = std::chrono::seconds(2);
  constexpr std::size_t kLingerBytes = 8 * 1024 * 1024;
  char scratch[16 * 1024];
  std::size_t discarded = 0;
  stream_.set_eager_reads(true);  // what is awaited is the client's FIN
  stream_.expires_after(kLingerTime);
  while (discarded < kLingerBytes && stream_.socket().is_open()) {
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(scratch),
                                                    asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    discarded += n;
  }
}

asio::awaitable<Session::HeadStatus> Session::read_head(bool first) {
  const auto& s = worker_.settings();
  parser_.emplace();
  head_size_ = 0;
  if (buffer_.size() == 0 && buffer_.capacity() > kIdleBufferKeep) buffer_.shrink_to_fit();
  auto deadline = Clock::now() + (first ? s.header_timeout : s.keepalive_timeout);
  bool got_bytes = buffer_.size() > 0;
  if (got_bytes) deadline = Clock::now() + s.header_timeout;
  std::size_t scanned = 0;

  for (;;) {
    std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    // RFC 9112 2.2: ignore empty lines before a request line.
    std::size_t lead = 0;
    while (lead + 1 < data.size() && data[lead] == '\r' && data[lead + 1] == '\n') lead += 2;
    if (lead > 0) {
      buffer_.consume(lead);
      scanned = 0;
      continue;
    }
    const auto end = data.find("\r\n\r\n", scanned);
    const auto line_end = data.find("\r\n");
    const std::size_t line_len = line_end == std::string_view::npos ? data.size() : line_end;
    if (line_len > s.max_uri_length + 32) co_return HeadStatus::kUriTooLong;
    if (end != std::string_view::npos) {
      head_size_ = end + 4;
      if (head_size_ > s.max_header_bytes + 2) co_return HeadStatus::kTooLarge;
      break;
    }
    if (data.size() > s.max_header_bytes) co_return HeadStatus::kTooLarge;
    scanned = data.size() > 3 ? data.size() - 3 : 0;

    stream_.expires_at(deadline);
    const std::size_t spare = buffer_.capacity() - buffer_.size();
    const std::size_t room =
        std::min(std::max(spare, kMinRead), buffer_.max_size() - buffer_.size());
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(room),
                                                    asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == beast::error::timeout && got_bytes) co_return HeadStatus::kTimeout;
      co_return HeadStatus::kClosed;
    }
    buffer_.commit(n);
    if (!got_bytes) {
      got_bytes = true;
      deadline = Clock::now() + s.header_timeout;
    }
  }

  const std::string_view head(static_cast<const char*>(buffer_.data().data()), head_size_);
  if (has_obsolete_fold(head) || head_has_bare_cr_or_nul(head.substr(0, head.size() - 2))) {
    co_return HeadStatus::kBadRequest;
  }
  parser_->header_limit(static_cast<std::uint32_t>(head_size_ + 1));
  parser_->body_limit(boost::none);  // enforced per route once the route is known
  error_code ec;
  const auto consumed = parser_->put(asio::buffer(head.data(), head.size()), ec);
  if (ec || !parser_->is_header_done()) co_return HeadStatus::kBadRequest;
  buffer_.consume(consumed);
  co_return HeadStatus::kOk;
}

asio::awaitable<bool> Session::handle_request() {
  worker_.metrics().in_flight.inc();
  // Whatever the exit, the request leaves the in-flight gauge and the context is reset: an
  // idle connection pins no config snapshot and the next request starts clean.
  const OnExit end_of_request{[this] {
    worker_.metrics().in_flight.dec();
    ctx_.reset();
    if (scratch_.capacity() > kIdleBufferKeep) std::string().swap(scratch_);
  }};
  RequestContext& ctx = ctx_;
  Downstream down{stream_, buffer_, *parser_, scratch_};
  // Locals of a coroutine live in its frame: one reply slot for every error path keeps the
  // frame small enough for Asio's recycler.
  std::optional<LocalReply> reply;
  std::optional<LocalResponse> preflight;
  const Admission admission = admit(ctx, down, reply, preflight);
  switch (admission.kind) {
    case Admission::kReply:
      break;
    case Admission::kBuiltin:
      co_await reply_builtin(ctx, down, ctx.target.path);
      complete(ctx, down);
      co_return down.keep_alive;
    case Admission::kPreflight:
      if (!parser_->is_done()) down.keep_alive = false;
      co_await write_local(ctx, down, std::move(*preflight));
      complete(ctx, down);
      co_return down.keep_alive;
    case Admission::kLocal:
      co_await serve_local(*admission.local, ctx, down);
      complete(ctx, down);
      co_return down.keep_alive && parser_->is_done();
    case Admission::kProxy: {
      for (const auto& filter : worker_.filters()) {
        if (!decide_now(*filter, ctx, reply)) co_await decide_later(*filter, ctx, reply);
        if (reply) break;
      }
      if (reply) break;
      reply = co_await forward_upstream(worker_, ctx, down);
      if (!reply) {
        complete(ctx, down);
        co_return down.keep_alive&& down.body_consumed;
      }
      if (down.response_started) {
        down.keep_alive = false;
        complete(ctx, down);
        co_return false;
      }
      down.keep_alive = down.keep_alive && down.body_consumed;
      break;
    }
  }
  if (!parser_->is_done()) down.keep_alive = false;  // unread body: never reuse the stream
  co_await reply_error(ctx, down, *reply);
  complete(ctx, down);
  co_return down.keep_alive;
}

Session::Admission Session::admit(RequestContext& ctx, Downstream& down,
                                  std::optional<LocalReply>& reply,
                                  std::optional<LocalResponse>& preflight) {
  const auto& s = worker_.settings();
  auto& req = parser_->get();
  ctx.started = Clock::now();
  ctx.config = worker_.config();
  ctx.head = &req;
  ctx.client_ip = client_ip_;
  ctx.peer_trusted = peer_trusted_;
  down.keep_alive = req.keep_alive() && !closing_;
  down.body_consumed = parser_->is_done();

  const auto incoming_id = req["X-Request-Id"];
  ctx.request_id_from_client = is_safe_request_id(incoming_id);
  if (ctx.request_id_from_client) {
    ctx.request_id.assign(incoming_id);
  } else {
    char id[36];
    write_request_id(id);
    ctx.request_id.assign(id, sizeof id);
  }

  if (worker_.state().spans != nullptr) start_trace(ctx, req);

  // Known methods are upper-case static strings already; an extension method is copied.
  if (req.method() != http::verb::unknown) {
    ctx.method = req.method_string();
  } else {
    method_.assign(req.method_string());
    upper_case(method_);
    ctx.method = method_;
  }

  auto refuse = [&](ErrorCode code, const char* message, bool close) {
    if (close) down.keep_alive = false;
    reply.emplace(code, message);
    return Admission{Admission::kReply};
  };

  std::size_t field_count = 0;
  std::size_t host_count = 0;
  for (const auto& f : req) {
    ++field_count;
    if (f.name() == http::field::host) ++host_count;
  }
  if (field_count > s.max_headers) {
    return refuse(ErrorCode::kHeadersTooLarge, "too many header fields", true);
  }
  if (req.target().size() > s.max_uri_length) {
    return refuse(ErrorCode::kUriTooLong, "request target too long", true);
  }
  if (host_count > 1 || (host_count == 0 && req.version() >= 11)) {
    return refuse(ErrorCode::kBadRequest, "exactly one Host header is required", true);
  }
  if (normalize_target(req.target(), ctx.target) != PathError::kNone) {
    return refuse(ErrorCode::kBadRequest, "invalid request target", true);
  }

  if (is_builtin_path(ctx.target.path)) return {Admission::kBuiltin};

  // CORS preflights are answered before the filters: the route need not list OPTIONS, and the
  // browser sends no credentials with them, so auth must not see them either.
  if (ctx.method == "OPTIONS" && is_cors_preflight(req)) {
    preflight = answer_preflight_for(ctx);
    if (preflight) return {Admission::kPreflight};
  }

  if (auto* local = worker_.local_endpoint_for(ctx.target.path)) {
    return {Admission::kLocal, local};
  }

  if (!ctx.config || !ctx.config->router) {
    return refuse(ErrorCode::kServiceUnavailable, "no configuration loaded", false);
  }
  std::string host;
  host_without_port(req[http::field::host], host);
  ctx.match = ctx.config->router->match(host, ctx.target.path, ctx.method);
  if (ctx.match.status == MatchStatus::kNotFound) {
    return refuse(ErrorCode::kNotFound, "no route matches this path", false);
  }
  if (ctx.match.status == MatchStatus::kMethodNotAllowed) {
    refuse(ErrorCode::kMethodNotAllowed, "method not allowed on this route", false);
    reply->headers.emplace_back("Allow", ctx.match.allow);
    return {Admission::kReply};
  }
  const RouteConfig& route = ctx.route();
  if (route.service == "internal") {
    return refuse(ErrorCode::kNotFound, "no built-in endpoint at this path", false);
  }

  const std::uint64_t body_limit = route.max_body_bytes.value_or(s.max_body_bytes);
  if (const auto len = parser_->content_length(); len && *len > body_limit) {
    return refuse(ErrorCode::kPayloadTooLarge, "request body too large", true);
  }
  parser_->body_limit(body_limit);
  ctx.deadline = ctx.started + route.timeout;

  // Identity headers only ever come from the auth stage: a client's copies go before any
  // filter runs, on public routes too.
  strip_identity_headers(req);
  return {Admission::kProxy};
}

std::optional<LocalResponse> Session::answer_preflight_for(RequestContext& ctx) {
  // The policy is that of the route the actual request would take (path +
  // Access-Control-Request-Method) when it has its own, else the global one.
  const auto& req = *ctx.head;
  std::shared_ptr<const CorsPolicy> global;
  const CorsPolicy* policy = nullptr;
  if (ctx.config && ctx.config->router) {
    std::string host;
    host_without_port(req[http::field::host], host);
    std::string requested(preflight_method(req));
    upper_case(requested);
    auto match = ctx.config->router->match(host, ctx.target.path, requested);
    if (match.status == MatchStatus::kMatched && match.route->cors) {
      policy = match.route->cors.get();
      ctx.match = match;  // the access log and metrics name the route
    }
  }
  if (policy == nullptr && worker_.state().cors) {
    global = worker_.state().cors->get();
    policy = global.get();
  }
  if (policy == nullptr) return std::nullopt;
  auto answer = answer_preflight(*policy, req, ctx.request_id, ctx.trace_id);
  if (!answer) ctx.match = {};
  return answer;
}

asio::awaitable<void> Session::reply_error(RequestContext& ctx, Downstream& down,
                                           const LocalReply& reply) {
  http::response<http::string_body> res;
  const unsigned status = reply.status != 0 ? reply.status : error_status(reply.code);
  res.result(status);
  res.version(11);
  res.set(http::field::content_type, "application/json");
  res.set("X-Request-Id", ctx.request_id);
  for (const auto& [name, value] : reply.headers) res.set(name, value);
  for (const auto& [name, value] : ctx.response_headers) res.insert(name, value);
  res.body() =
      error_body(reply.code, reply.message, ctx.request_id, reply.details_json, ctx.trace_id);
  res.keep_alive(down.keep_alive);
  res.prepare_payload();
  if (ctx.method == "HEAD") res.body().clear();
  down.status = status;
  down.error_code = error_code_name(reply.code);
  down.response_started = true;
  stream_.expires_after(worker_.settings().body_timeout);
  http::serializer<false, http::string_body> sr{res};
  if (ctx.method == "HEAD") {
    auto [ec, n] =
        co_await http::async_write_header(stream_, sr, asio::as_tuple(asio::use_awaitable));
    down.bytes_out += n;
    if (ec) down.keep_alive = false;
  } else {
    auto [ec, n] = co_await http::async_write(stream_, sr, asio::as_tuple(asio::use_awaitable));
    down.bytes_out += n;
    if (ec) down.keep_alive = false;
  }
}

asio::awaitable<bool> Session::send_continue(Downstream& down) {
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  stream_.expires_after(worker_.settings().body_timeout);
  auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(kContinue),
                                            asio::as_tuple(asio::use_awaitable));
  if (ec) down.keep_alive = false;
  co_return !ec;
}

asio::awaitable<void> Session::serve_local(LocalEndpoint& endpoint, RequestContext& ctx,
                                           Downstream& down) {
  const std::size_t limit = endpoint.max_body();
  if (const auto len = parser_->content_length(); len && *len > limit) {
    down.keep_alive = false;
    co_await reply_error(ctx, down, {ErrorCode::kPayloadTooLarge, "request body too large"});
    co_return;
  }
  LocalRequest request;
  if (!parser_->is_done()) {
    const auto expect = parser_->get()[http::field::expect];
    if (iequals(expect, "100-continue") && !co_await send_continue(down)) co_return;
    // The body is small and bounded: read it whole before the handler runs.
    char chunk[4096];
    auto& body = parser_->get().body();
    while (!parser_->is_done()) {
      body.data = chunk;
      body.size = sizeof chunk;
      stream_.expires_after(worker_.settings().body_timeout);
      auto [ec, n] = co_await http::async_read(stream_, buffer_, *parser_,
                                               asio::as_tuple(asio::use_awaitable));
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t got = sizeof chunk - body.size;
      down.bytes_in += got;
      if (!ec && request.body.size() + got > limit) ec = http::error::body_limit;
      if (ec) {
        down.keep_alive = false;
        const bool too_large = ec == http::error::body_limit;
        co_await reply_error(ctx, down,
                             {too_large ? ErrorCode::kPayloadTooLarge : ErrorCode::kBadRequest,
                              too_large ? "request body too large" : "request body incomplete"});
        co_return;
      }
      request.body.append(chunk, got);
    }
  }
  const auto& head = parser_->get();
  request.method = ctx.method;
  request.path = ctx.target.path;
  if (ctx.target.has_query) request.query = ctx.target.query;
  request.head = &head;
  request.client_ip = client_ip_;
  request.request_id = ctx.request_id;
  request.user_agent = std::string(head[http::field::user_agent]);

  co_await write_local(ctx, down, co_await endpoint.handle(request));
}

asio::awaitable<void> Session::write_local(RequestContext& ctx, Downstream& down,
                                           LocalResponse answer) {
  http::response<http::string_body> res;
  res.result(answer.status);
  res.version(11);
  if (!answer.body.empty()) res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Request-Id", ctx.request_id);
  for (const auto& [name, value] : answer.headers) res.set(name, value);
  res.body() = std::move(answer.body);
  res.keep_alive(down.keep_alive);
  res.prepare_payload();
  down.status = answer.status;
  down.response_started = true;
  stream_.expires_after(worker_.settings().body_timeout);
  auto [ec, n] = co_await http::async_write(stream_, res, asio::as_tuple(asio::use_awaitable));
  down.bytes_out += n;
  if (ec) down.keep_alive = false;
}

asio::awaitable<void> Session::reply_builtin(RequestContext& ctx, Downstream& down,
                                             std::string_view path) {
  if (ctx.method != "GET" && ctx.method != "HEAD") {
    LocalReply reply{ErrorCode::kMethodNotAllowed, "method not allowed on this endpoint"};
    reply.headers.emplace_back("Allow", "GET, HEAD");
    if (!parser_->is_done()) down.keep_alive = false;
    co_await reply_error(ctx, down, reply);
    co_return;
  }
  auto res = builtin_response(path, worker_);
  res.version(11);
  res.set("X-Request-Id", ctx.request_id);
  res.keep_alive(down.keep_alive);
  res.prepare_payload();
  down.status = res.result_int();
  down.response_started = true;
  stream_.expires_after(worker_.settings().body_timeout);
  http::serializer<false, http::string_body> sr{res};
  error_code ec;
  std::size_t n = 0;
  if (ctx.method == "HEAD") {
    std::tie(ec, n) =
        co_await http::async_write_header(stream_, sr, asio::as_tuple(asio::use_awaitable));
  } else {
    std::tie(ec, n) = co_await http::async_write(stream_, sr, asio::as_tuple(asio::use_awaitable));
  }
  down.bytes_out += n;
  if (ec) down.keep_alive = false;
}

void Session::start_trace(RequestContext& ctx, const http::request_header<>& req) {
  // An incoming valid traceparent is continued; the gateway's span becomes the upstream's
  // parent. The ids are formatted once here and reused by the logs, records and the span.
  const auto trace =
      tracing::start_trace(req["traceparent"], req["tracestate"], worker_.state().sampler);
  ctx.traceparent = trace.traceparent();
  ctx.tracestate = trace.tracestate;
  ctx.trace_id = trace.trace_id.hex();
  ctx.span_id = trace.span_id.hex();
  if (trace.parent_span_id.valid()) ctx.parent_span_id = trace.parent_span_id.hex();
  ctx.trace_sampled = trace.sampled;
}

void Session::export_span(const RequestContext& ctx, const Downstream& down, double seconds) {
  auto* exporter = worker_.state().spans;
  if (exporter == nullptr || !ctx.trace_sampled) return;
  tracing::Span span;
  span.name = ctx.match.route ? std::string(ctx.method) + " " + ctx.match.route->path
                              : std::string(ctx.method);
  span.kind = tracing::SpanKind::kServer;
  if (auto id = tracing::TraceId::from_hex(ctx.trace_id)) span.trace_id = *id;
  if (auto id = tracing::SpanId::from_hex(ctx.span_id)) span.span_id = *id;
  if (auto id = tracing::SpanId::from_hex(ctx.parent_span_id)) span.parent_span_id = *id;
  span.end();
  span.start_unix_nano = span.end_unix_nano - static_cast<std::uint64_t>(seconds * 1e9);
  span.set("http.request.method", ctx.method);
  span.set("url.path", ctx.target.path);
  if (ctx.match.route) {
    span.set("http.route", ctx.match.route->path);
    span.set("gatewayd.service", ctx.match.route->service);
  }
  span.set("http.response.status_code", down.status);
  span.set("client.address", client_ip_);
  span.set("gatewayd.request_id", ctx.request_id);
  if (!down.upstream.empty()) span.set("server.address", down.upstream);
  if (!down.error_code.empty()) span.set("error.type", down.error_code);
  if (down.status >= 500 || down.status == 0) span.status = tracing::StatusCode::kError;
  exporter->submit(std::move(span));
}

void Session::complete(RequestContext& ctx, Downstream& down) {
  const double seconds = std::chrono::duration<double>(Clock::now() - ctx.started).count();
  export_span(ctx, down, seconds);
  const std::string_view route_name =
      ctx.match.route ? std::string_view(ctx.match.route->name) : std::string_view("-");
  worker_.metrics().record_request(route_name, ctx.method, down.status, seconds);

  Outcome outcome;
  outcome.status = down.status;
  outcome.error_code = down.error_code;
  outcome.upstream = down.upstream;
  outcome.duration_seconds = seconds;
  outcome.bytes_in = down.bytes_in;
  outcome.bytes_out = down.bytes_out;
  for (const auto& filter : worker_.filters()) filter->on_complete(ctx, outcome);

  if (logging::access_enabled()) {
    logging::AccessEntry e;
    e.request_id = ctx.request_id;
    e.trace_id = ctx.trace_id;
    e.client_ip = client_ip_;
    e.method = ctx.method;
    if (ctx.head) {
      e.target = ctx.head->target();
      e.user_agent = (*ctx.head)[http::field::user_agent];
    }
    e.route = route_name;
    if (ctx.match.route) e.service = ctx.match.route->service;
    e.upstream = down.upstream;
    e.error_code = down.error_code;
    if (ctx.identity) e.user_id = ctx.identity->subject;
    e.status = down.status;
    e.duration_ms = seconds * 1000.0;
    e.bytes_in = down.bytes_in;
    e.bytes_out = down.bytes_out;
    logging::log_access(e);
  }

  // Probes of the built-in endpoints (/health, /ready, /metrics) are not request history.
  const bool builtin = ctx.match.route == nullptr && is_builtin_path(ctx.target.path);
  if (auto* sink = worker_.state().records; sink != nullptr && !builtin) {
    RequestRecord r;
    // gateway_logs keeps one row per request id: a client that reuses its own id must not
    // collapse its requests into one row, so such ids get a gateway-made suffix.
    if (ctx.request_id_from_client) {
      r.request_id.assign(ctx.request_id, 0, 90);
      r.request_id += '~';
      r.request_id += generate_request_id();
    } else {
      r.request_id = ctx.request_id;
    }
    r.method = ctx.method;
    r.path = ctx.target.path;
    r.route = route_name;
    if (ctx.match.route) r.target_service = ctx.match.route->service;
    if (ctx.identity) r.user_id = ctx.identity->subject;
    r.client_ip = client_ip_;
    r.error_code = down.error_code;
    r.trace_id = ctx.trace_id;
    r.status_code = down.status;
    r.response_time_ms = seconds * 1000.0;
    r.created_at = std::chrono::system_clock::now();
    sink->submit(std::move(r));
  }
}

}  // namespace gatewayd
