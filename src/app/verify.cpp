#include "app/verify.hpp"

#include <openssl/x509_vfy.h>
#include <unistd.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <type_traits>

#include "clients/http_client.hpp"
#include "clients/mysql_connection.hpp"
#include "clients/redis_options.hpp"
#include "config/config_loader.hpp"
#include "discovery/discovery_options.hpp"
#include "filters/auth/auth_runtime.hpp"
#include "observability/span_exporter.hpp"
#include "persistence/persistence_settings.hpp"
#include "persistence/schema.hpp"
#include "server/tls_context.hpp"
#include "server/upstream_tls.hpp"
#include "upstream/health_probe.hpp"

namespace gatewayd::verify {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

// The budget of one network check: long enough for a healthy service on a slow network, short
// enough that a host that swallows packets does not stall the whole run.
constexpr milliseconds kNetworkTimeout{2'500};

milliseconds bounded(milliseconds configured) {
  return configured.count() > 0 ? std::min(configured, kNetworkTimeout) : kNetworkTimeout;
}

CheckResult ok(std::string check, std::string detail) {
  return CheckResult{std::move(check), Status::kOk, std::move(detail), {}};
}
CheckResult fail(std::string check, std::string detail, std::string hint = {}) {
  return CheckResult{std::move(check), Status::kFail, std::move(detail), std::move(hint)};
}
CheckResult skip(std::string check, std::string detail) {
  return CheckResult{std::move(check), Status::kSkip, std::move(detail), {}};
}

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kOk:
      return "OK";
    case Status::kFail:
      return "FAIL";
    case Status::kSkip:
      return "SKIP";
  }
  return "?";
}

// Runs one coroutine on a private io_context until it finishes. The checks run one after the
// other before any server exists, so a throwaway context per call keeps them independent; the
// deadlines live inside the coroutines.
template <class T>
T run_to_completion(net::awaitable<T> operation) {
  net::io_context ctx;
  std::optional<T> result;
  std::exception_ptr error;
  net::co_spawn(ctx, std::move(operation), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result = std::move(value);
  });
  ctx.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

// ------------------------------------------------------------------ plain TCP and RESP

// Resolves and connects within `timeout`; the error text is empty on success.
net::awaitable<std::string> connect_stream(beast::tcp_stream& stream, std::string host,
                                           std::uint16_t port, milliseconds timeout) {
  tcp::resolver resolver(co_await net::this_coro::executor);
  boost::system::error_code ec;
  const auto endpoints = co_await resolver.async_resolve(
      host, std::to_string(port), net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return "cannot resolve " + host + ": " + ec.message();
  stream.expires_after(timeout);
  co_await stream.async_connect(endpoints, net::redirect_error(net::use_awaitable, ec));
  if (ec == beast::error::timeout) co_return "connect timed out";
  if (ec) co_return ec.message();
  co_return std::string{};
}

net::awaitable<std::string> tcp_probe(std::string host, std::uint16_t port, milliseconds timeout) {
  beast::tcp_stream stream(co_await net::this_coro::executor);
  co_return co_await connect_stream(stream, std::move(host), port, timeout);
}

std::string resp_command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// Sends one command and returns the first line of the reply ("+PONG", "-NOAUTH ...") in
// `reply`; the error code says why there is none.
net::awaitable<boost::system::error_code> resp_exchange(beast::tcp_stream& stream,
                                                        std::vector<std::string> args,
                                                        milliseconds timeout, std::string& reply) {
  const std::string command = resp_command(args);
  boost::system::error_code ec;
  stream.expires_after(timeout);
  co_await net::async_write(stream, net::buffer(command),
                            net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return ec;
  reply.clear();
  const std::size_t n = co_await net::async_read_until(stream, net::dynamic_buffer(reply), "\r\n",
                                                       net::redirect_error(net::use_awaitable, ec));
  if (!ec) reply.resize(n - 2);
  co_return ec;
}

struct Probe {
  bool ok = false;
  std::string detail;
  std::string hint;
};

Probe redis_reply_failure(const std::string& where, const boost::system::error_code& ec) {
  const std::string what = ec == beast::error::timeout ? "no answer in time" : ec.message();
  return Probe{false, where + ": " + what, "check that this is a Redis server"};
}

Probe redis_ping_result(const std::string& where, const std::string& reply) {
  if (reply == "+PONG") return Probe{true, where + ": PONG", {}};
  std::string hint = "check that this is a Redis server";
  if (reply.starts_with("-NOAUTH")) hint = "set REDIS_PASSWORD";
  return Probe{false, where + ": PING answered " + reply, hint};
}

std::vector<std::string> redis_auth_command(const std::string& username,
                                            const std::string& password) {
  std::vector<std::string> auth{"AUTH"};
  if (!username.empty()) auth.push_back(username);
  auth.push_back(password);
  return auth;
}

net::awaitable<Probe> redis_probe(RedisEndpoint endpoint, std::string username,
                                  std::string password, milliseconds timeout) {
  beast::tcp_stream stream(co_await net::this_coro::executor);
  const std::string where = endpoint.str();
  const std::string error = co_await connect_stream(stream, endpoint.host, endpoint.port, timeout);
  if (!error.empty()) {
    co_return Probe{false, where + ": " + error, "start Redis or fix REDIS_HOST/REDIS_PORT"};
  }
  std::string reply;
  if (!password.empty()) {
    const auto ec =
        co_await resp_exchange(stream, redis_auth_command(username, password), timeout, reply);
    if (ec) co_return redis_reply_failure(where, ec);
    if (reply != "+OK") {
      co_return Probe{false, where + ": AUTH refused: " + reply,
                      "check REDIS_USERNAME/REDIS_PASSWORD"};
    }
  }
  const auto ec =
      co_await resp_exchange(stream, std::vector<std::string>(1, "PING"), timeout, reply);
  if (ec) co_return redis_reply_failure(where, ec);
  co_return redis_ping_result(where, reply);
}

// ------------------------------------------------------------------ HTTP

HttpClientResponse http_get(const HttpEndpoint& endpoint, std::string target,
                            std::vector<std::pair<std::string, std::string>> headers,
                            milliseconds timeout) {
  HttpClientRequest request;
  request.target = std::move(target);
  request.headers = std::move(headers);
  HttpRequestOptions options;
  options.connect_timeout = timeout;
  options.timeout = timeout;
  options.body_limit = 64 * 1024;  // status endpoints answer a few bytes
  return run_to_completion(http_request(endpoint, std::move(request), options));
}

// ------------------------------------------------------------------ configuration and auth

CheckResult check_config(const Settings& settings, std::shared_ptr<const Config>& config) {
  try {
    config = load_config(settings);
    return ok("config", std::to_string(config->routes.size()) + " routes, " +
                            std::to_string(config->services.size()) + " services");
  } catch (const std::exception& e) {
    return fail("config", e.what(),
                "fix " + routes_path(settings) + " / " + services_path(settings));
  }
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

CheckResult check_auth(const Settings& settings, const Config* config) {
  const std::string kHint = "set JWT_SECRET_KEY, JWT_PUBLIC_KEY_PATH or JWT_JWKS_URL";
  try {
    const auth::AuthRuntime runtime(settings, nullptr);
    if (config == nullptr) return skip("jwt keys", "routes not loaded");
    if (auto problems = runtime.check_routes(*config); !problems.empty()) {
      return fail("jwt keys", join(problems, "; "), kHint);
    }
    return ok("jwt keys", runtime.has_jwt_keys() ? "keys loaded" : "no route needs JWT keys");
  } catch (const std::exception& e) {
    return fail("jwt keys", e.what(), "fix the JWT_* settings");
  }
}

// ------------------------------------------------------------------ directories

// What the daemon does at start-up: create the folder if needed and write into it.
CheckResult check_writable(std::string check, const std::filesystem::path& dir,
                           const std::string& variable) {
  namespace fs = std::filesystem;
  const std::string hint = "make it writable or point " + variable + " elsewhere";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(std::move(check), dir.string() + ": " + ec.message(), hint);
  const fs::path probe = dir / (".gatewayd-verify-" + std::to_string(::getpid()));
  {
    std::ofstream out(probe, std::ios::binary | std::ios::trunc);
    out << "verify\n";
    out.flush();
    if (!out) return fail(std::move(check), dir.string() + ": cannot write a file", hint);
  }
  fs::remove(probe, ec);
  if (ec) return fail(std::move(check), dir.string() + ": cannot remove a file", hint);
  return ok(std::move(check), dir.string() + " writable");
}

// ------------------------------------------------------------------ MySQL

// A database name as a quoted identifier (backticks doubled, as MySQL escapes them).
std::string quote_identifier(const std::string& name) {
  std::string out = "`";
  for (const char ch : name) out += ch == '`' ? std::string("``") : std::string(1, ch);
  return out + "`";
}

CheckResult check_schema(MySqlConnection& connection, const MySqlOptions& options) {
  const std::string kHint = "run gatewayd --init-db";
  auto rows = connection.query("SELECT MAX(version) FROM " + quote_identifier(options.database) +
                               ".schema_version");
  if (!rows.ok()) {
    const unsigned code = rows.error->code;
    if (code == 1049)
      return fail("mysql schema", "database " + options.database + " missing", kHint);
    if (code == 1146) return fail("mysql schema", "table schema_version missing", kHint);
    return fail("mysql schema", rows.error->describe(), kHint);
  }
  int version = 0;
  if (!rows.value.rows.empty() && rows.value.rows[0][0]) {
    version = std::stoi(*rows.value.rows[0][0]);
  }
  const std::string wanted = std::to_string(persistence::kSchemaVersion);
  if (version < persistence::kSchemaVersion) {
    return fail("mysql schema",
                "version " + std::to_string(version) + ", this build needs " + wanted, kHint);
  }
  std::string detail = "version " + std::to_string(version);
  if (version > persistence::kSchemaVersion) detail += " (newer than this build's " + wanted + ")";
  return ok("mysql schema", detail);
}

std::vector<CheckResult> check_mysql(const Settings& settings) {
  if (!settings.get_bool("MYSQL_ENABLED")) {
    return {skip("mysql", "MYSQL_ENABLED=false"), skip("mysql schema", "MYSQL_ENABLED=false")};
  }
  MySqlOptions options = persistence::mysql_options_from(settings);
  options.connect_timeout = bounded(options.connect_timeout);
  options.read_timeout = bounded(options.read_timeout);
  options.write_timeout = bounded(options.write_timeout);
  mysql_client_library_init();
  MySqlConnection connection(options);
  // Without a default database, so a missing database shows as a schema problem.
  MySqlConnection::ConnectFlags flags;
  flags.select_database = false;
  if (auto e = connection.connect(flags)) {
    return {fail("mysql", describe(options) + ": " + e->describe(),
                 "start MySQL or fix MYSQL_HOST/MYSQL_PORT/MYSQL_USER/MYSQL_PASSWORD"),
            skip("mysql schema", "no connection")};
  }
  return {ok("mysql", describe(options) + " (server " + connection.server_version() + ")"),
          check_schema(connection, options)};
}

// ------------------------------------------------------------------ Redis

CheckResult check_redis(const Settings& settings) {
  if (!settings.get_bool("REDIS_ENABLED")) return skip("redis", "REDIS_ENABLED=false");
  const RedisOptions options = redis_options_from_settings(settings);
  // A cluster node that answers is enough here: the client learns the rest from it.
  const RedisEndpoint endpoint = options.cluster && !options.cluster_nodes.empty()
                                     ? options.cluster_nodes.front()
                                     : options.endpoint;
  const Probe p = run_to_completion(
      redis_probe(endpoint, options.username, options.password, bounded(options.connect_timeout)));
  return p.ok ? ok("redis", p.detail) : fail("redis", p.detail, p.hint);
}

// ------------------------------------------------------------------ discovery

CheckResult probe_status(std::string check, const HttpEndpoint& endpoint, const std::string& target,
                         std::vector<std::pair<std::string, std::string>> headers,
                         const std::string& hint) {
  const auto res = http_get(endpoint, target, std::move(headers), kNetworkTimeout);
  const std::string where = endpoint.to_string() + target;
  if (!res.ok()) return fail(std::move(check), where + ": " + res.describe(), hint);
  return ok(std::move(check), where + ": HTTP " + std::to_string(res.status));
}

CheckResult check_consul(const discovery::ConsulOptions& consul) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!consul.token.empty()) headers.emplace_back("X-Consul-Token", consul.token);
  const std::string target = "/v1/status/leader";
  const auto res = http_get(consul.agent, target, std::move(headers), kNetworkTimeout);
  const std::string where = consul.agent.to_string() + target;
  if (!res.ok()) {
    return fail("discovery consul", where + ": " + res.describe(),
                "start the Consul agent or fix CONSUL_HOST/CONSUL_PORT");
  }
  // The agent answers "" while its cluster has no leader: it cannot serve health queries then.
  if (res.body.find(':') == std::string::npos) {
    return fail("discovery consul", where + ": no leader elected", "check the Consul servers");
  }
  return ok("discovery consul", where + ": leader " + res.body);
}

CheckResult check_nacos(const discovery::NacosOptions& nacos) {
  const std::string target = nacos.api_version >= 2 ? "/nacos/v2/console/health/readiness"
                                                    : "/nacos/v1/console/health/readiness";
  const std::string hint = "start Nacos or fix NACOS_SERVER_ADDRESSES";
  if (nacos.servers.empty()) return fail("discovery nacos", "no server configured", hint);
  // Any one server is enough: the client fails over between them.
  CheckResult last;
  for (const auto& server : nacos.servers) {
    last = probe_status("discovery nacos", server, target, {}, hint);
    if (last.status == Status::kOk) return last;
  }
  return last;
}

CheckResult check_etcd(const discovery::EtcdOptions& etcd) {
  const std::string hint = "start etcd or fix ETCD_ENDPOINTS";
  if (etcd.endpoints.empty()) return fail("discovery etcd", "no endpoint configured", hint);
  const auto& endpoint = etcd.endpoints.front();
  const auto res = http_get(endpoint, "/health", {}, kNetworkTimeout);
  const std::string where = endpoint.to_string() + "/health";
  if (!res.ok()) return fail("discovery etcd", where + ": " + res.describe(), hint);
  if (res.body.find("\"true\"") == std::string::npos) {
    return fail("discovery etcd", where + ": not healthy: " + res.body.substr(0, 200), hint);
  }
  return ok("discovery etcd", where + ": healthy");
}

std::vector<CheckResult> check_discovery(const Settings& settings) {
  const auto options = discovery::discovery_options_from_settings(settings);
  std::set<std::string> types{options.type};
  for (const auto& [service, type] : options.service_types) types.insert(type);
  std::vector<CheckResult> out;
  for (const auto& type : types) {
    if (type == "consul") out.push_back(check_consul(options.consul));
    if (type == "nacos") out.push_back(check_nacos(options.nacos));
    if (type == "etcd") out.push_back(check_etcd(options.etcd));
  }
  if (out.empty()) out.push_back(skip("discovery", "SERVICE_DISCOVERY_TYPE=" + options.type));
  return out;
}

// ------------------------------------------------------------------ upstreams

bool expected_status(const HealthCheckConfig& hc, unsigned status) {
  if (hc.expected_statuses.empty()) return status >= 200 && status < 400;
  return std::any_of(
      hc.expected_statuses.begin(), hc.expected_statuses.end(),
      [status](const auto& range) { return status >= range.first && status <= range.second; });
}

// An https instance is checked as the health checker probes it: the TLS handshake with the
// service's client settings (CA, host name, SNI, client certificate), then GET of the health
// path. `tls` is null when those settings are unusable (the "upstream tls" row says why).
CheckResult check_tls_instance(std::string check, const ServiceConfig& service,
                               const InstanceConfig& instance, const upstream::TlsClients* tls,
                               milliseconds timeout) {
  const std::string& path =
      service.health_check.path.empty() ? std::string("/") : service.health_check.path;
  const std::string where = instance.url + path;
  if (tls == nullptr) {
    return fail(std::move(check), instance.url + ": TLS not probed",
                "fix the upstream TLS settings (see the upstream tls row)");
  }
  upstream::ProbeTarget target;
  target.host = instance.host;
  target.port = instance.port;
  target.path = path;
  target.timeout = timeout;
  target.tls = tls->for_service(service.name);
  const bool verified = target.tls->verify;

  net::io_context ctx;
  auto probe = std::make_shared<upstream::HealthProbe>(ctx.get_executor());
  upstream::ProbeResult result;
  std::exception_ptr error;
  net::co_spawn(ctx, probe->run(std::move(target)),
                [&](std::exception_ptr e, upstream::ProbeResult r) {
                  error = e;
                  if (!e) result = std::move(r);
                });
  ctx.run();
  if (error) std::rethrow_exception(error);

  using Error = upstream::ProbeResult::Error;
  switch (result.error) {
    case Error::kNone:
      break;
    case Error::kTls: {
      std::string hint;
      if (result.verify_error == X509_V_ERR_HOSTNAME_MISMATCH ||
          result.verify_error == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        hint =
            "the certificate does not name this host: set the service's tls_server_name to a "
            "name in the certificate, or use that name in the url";
      } else if (result.verify_error == X509_V_ERR_CERT_HAS_EXPIRED ||
                 result.verify_error == X509_V_ERR_CERT_NOT_YET_VALID) {
        hint = "renew the upstream's certificate";
      } else if (result.verify_error != 0) {
        hint =
            "the certificate is not signed by a trusted CA: set the service's tls_ca_file "
            "(or UPSTREAM_CA_FILE) to the CA that issued it";
      } else {
        hint =
            "check that the instance speaks TLS on this port and accepts the gateway's "
            "client certificate (tls_cert_file / UPSTREAM_CLIENT_CERT_FILE)";
      }
      return fail(std::move(check), instance.url + ": " + result.detail, std::move(hint));
    }
    case Error::kTimeout:
      return fail(std::move(check),
                  where + ": no answer within " + std::to_string(timeout.count()) + " ms",
                  "start the service or fix its url in services.yaml");
    default:
      return fail(std::move(check),
                  where + ": " + std::string(upstream::probe_error_name(result.error)) + " failed",
                  "start the service or fix its url in services.yaml");
  }
  const std::string status = "HTTP " + std::to_string(result.status) + " over TLS" +
                             (verified ? "" : " (certificate NOT verified: tls_verify is false)");
  if (!expected_status(service.health_check, result.status)) {
    return fail(std::move(check), where + ": " + status,
                "check the service, or its health_check.path");
  }
  return ok(std::move(check), where + ": " + status);
}

CheckResult check_instance(const ServiceConfig& service, const InstanceConfig& instance,
                           const upstream::TlsClients* tls) {
  std::string check = "upstream " + service.name + " " + instance.id;
  if (!instance.healthy) return skip(std::move(check), "marked healthy: false");
  const milliseconds timeout = bounded(service.health_check.timeout);
  if (instance.scheme == "https") {
    return check_tls_instance(std::move(check), service, instance, tls, timeout);
  }
  const std::string hint = "start the service or fix its url in services.yaml";
  const std::string& path = service.health_check.path;
  const auto res = http_get(HttpEndpoint{instance.host, instance.port}, path, {}, timeout);
  const std::string where = instance.url + path;
  if (!res.transport_ok()) return fail(std::move(check), where + ": " + res.describe(), hint);
  if (!expected_status(service.health_check, res.status)) {
    return fail(std::move(check), where + ": HTTP " + std::to_string(res.status),
                "check the service, or its health_check.path");
  }
  return ok(std::move(check), where + ": HTTP " + std::to_string(res.status));
}

std::vector<CheckResult> check_upstreams(const Settings& settings, const Config* config) {
  if (config == nullptr) return {skip("upstreams", "routes not loaded")};
  // The client contexts are built once for every https instance; when they cannot be built
  // the "upstream tls" row already says why, and the https rows fail without probing.
  std::shared_ptr<const UpstreamTls> tls;
  try {
    tls = UpstreamTls::build(settings, *config);
  } catch (const std::exception&) {
  }
  std::vector<CheckResult> out;
  for (const auto& [name, service] : config->services) {
    if (service.instances.empty()) {
      out.push_back(skip("upstream " + name, "no static instances (discovered)"));
    }
    for (const auto& instance : service.instances) {
      out.push_back(check_instance(service, instance, tls.get()));
    }
  }
  if (out.empty()) out.push_back(skip("upstreams", "no services configured"));
  return out;
}

// ------------------------------------------------------------------ tracing

CheckResult check_tracing(const Settings& settings) {
  if (!settings.get_bool("TRACING_ENABLED")) return skip("tracing", "TRACING_ENABLED=false");
  const std::string url = settings.get("OTEL_EXPORTER_OTLP_ENDPOINT");
  const auto endpoint = tracing::parse_otlp_endpoint(url);
  if (!endpoint) {
    return fail("tracing", "cannot use OTEL_EXPORTER_OTLP_ENDPOINT=" + url,
                "use http://host:port of an OTLP/HTTP collector");
  }
  const std::string where = endpoint->host + ":" + std::to_string(endpoint->port);
  const std::string e =
      run_to_completion(tcp_probe(endpoint->host, endpoint->port, kNetworkTimeout));
  if (!e.empty()) {
    return fail("tracing", where + ": " + e,
                "start the collector or fix OTEL_EXPORTER_OTLP_ENDPOINT");
  }
  return ok("tracing", where + " reachable");
}

CheckResult check_listener_tls(const Settings& settings) {
  if (!tls::listener_enabled(settings)) return skip("tls listener", "TLS_CERT_FILE not set");
  try {
    auto context = tls::make_server_context(tls::server_options_from(settings));
    return ok("tls listener", tls::describe_certificate(*context));
  } catch (const std::exception& e) {
    return fail("tls listener", e.what(), "fix TLS_CERT_FILE / TLS_KEY_FILE / TLS_CLIENT_CA_FILE");
  }
}

CheckResult check_upstream_tls(const Settings& settings, const Config* config) {
  if (config == nullptr) return skip("upstream tls", "no valid configuration");
  try {
    std::vector<std::string> warnings;
    UpstreamTls::build(settings, *config, &warnings);
    std::string detail = "client contexts built";
    for (const auto& w : warnings) detail += "; WARNING " + w;
    return ok("upstream tls", detail);
  } catch (const std::exception& e) {
    return fail("upstream tls", e.what(), "fix UPSTREAM_* or the services' tls_* files");
  }
}

// A check that throws (a malformed setting, typically) is a failed row, not an aborted run.
template <class F>
void collect(std::vector<CheckResult>& out, std::string name, F&& check) {
  try {
    auto rows = check();
    if constexpr (std::is_same_v<decltype(rows), CheckResult>) {
      out.push_back(std::move(rows));
    } else {
      for (auto& r : rows) out.push_back(std::move(r));
    }
  } catch (const std::exception& e) {
    out.push_back(fail(std::move(name), e.what()));
  }
}

}  // namespace

std::vector<std::string> auth_route_problems(const Settings& settings, const Config& config) {
  try {
    const auth::AuthRuntime runtime(settings, nullptr);
    return runtime.check_routes(config);
  } catch (const std::exception& e) {
    return {e.what()};
  }
}

std::vector<CheckResult> run_checks(const Settings& settings) {
  std::vector<CheckResult> out;
  std::shared_ptr<const Config> config;
  out.push_back(check_config(settings, config));
  out.push_back(check_auth(settings, config.get()));
  out.push_back(check_listener_tls(settings));
  out.push_back(check_upstream_tls(settings, config.get()));
  out.push_back(check_writable("log directory", settings.log_directory, "LOG_DIRECTORY"));
  out.push_back(check_writable("data directory", settings.data_directory, "DATA_DIRECTORY"));
  collect(out, "mysql", [&] { return check_mysql(settings); });
  collect(out, "redis", [&] { return check_redis(settings); });
  collect(out, "discovery", [&] { return check_discovery(settings); });
  collect(out, "upstreams", [&] { return check_upstreams(settings, config.get()); });
  collect(out, "tracing", [&] { return check_tracing(settings); });
  return out;
}

std::string format_table(const std::vector<CheckResult>& results) {
  std::size_t width = std::string_view("CHECK").size();
  for (const auto& r : results) width = std::max(width, r.check.size());
  std::ostringstream out;
  const auto row = [&](std::string_view check, std::string_view status, const std::string& text) {
    out << check << std::string(width - check.size() + 2, ' ') << status
        << std::string(8 - status.size(), ' ') << text << "\n";
  };
  row("CHECK", "STATUS", "DETAIL");
  for (const auto& r : results) {
    std::string text = r.detail;
    if (!r.hint.empty()) text += " (hint: " + r.hint + ")";
    row(r.check, status_name(r.status), text);
  }
  return out.str();
}

bool any_failed(const std::vector<CheckResult>& results) {
  return std::any_of(results.begin(), results.end(),
                     [](const CheckResult& r) { return r.status == Status::kFail; });
}

int run_verify(const Settings& settings, std::ostream& out) {
  const auto results = run_checks(settings);
  out << format_table(results);
  const bool failed = any_failed(results);
  out << (failed ? "gatewayd: verify found problems\n" : "gatewayd: all checks passed\n");
  return failed ? 1 : 0;
}

}  // namespace gatewayd::verify
