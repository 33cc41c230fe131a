#include "support/etcd_server.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "support/free_port.hpp"
#include "support/http_client.hpp"

namespace gatewayd::test {

using nlohmann::json;

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string b64(std::string_view data) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(data[i]) << 16) |
                            (static_cast<unsigned char>(data[i + 1]) << 8) |
                            static_cast<unsigned char>(data[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  if (i < data.size()) {
    std::uint32_t n = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::int64_t revision_of(const json& answer) {
  const auto& rev = answer.at("header").at("revision");
  return rev.is_string() ? std::stoll(rev.get<std::string>()) : rev.get<std::int64_t>();
}

}  // namespace

bool etcd_installed() {
  std::string output;
  const auto status = run_command({"etcd", "--version"}, std::chrono::seconds(10), &output);
  return status.success() && output.find("etcd Version") != std::string::npos;
}

EtcdServer::EtcdServer() : dir_("gatewayd-etcd") {
  client_port_ = free_port();
  peer_port_ = free_port();
  launch();
}

EtcdServer::~EtcdServer() {
  if (process_) process_->kill();
}

void EtcdServer::launch() {
  const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  ProcessOptions options;
  options.argv = {"etcd", "--name=default", "--data-dir=" + (dir_ / "data").string(),
                  "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
                  "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
                  "--initial-cluster=default=" + peer, "--log-level=error", "--logger=zap",
                  // Fast elections: a single member becomes leader quickly after a restart.
                  "--heartbeat-interval=50", "--election-timeout=500"};
  options.unset_env = {"ETCDCTL_API", "ETCD_NAME", "ETCD_DATA_DIR"};
  options.stdout_path = dir_ / "etcd.log";
  options.stderr_path = dir_ / "etcd.log";
  process_.emplace(Process::spawn(options));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->running()) {
      throw std::runtime_error("etcd exited at start-up: " + read_whole_file(dir_ / "etcd.log"));
    }
    if (port_accepts(client_port_)) {
      HttpRequestSpec spec;
      spec.method = "POST";
      spec.target = "/v3/kv/range";
      spec.body = json{{"key", b64("/")}}.dump();
      spec.headers = {{"Content-Type", "application/json"}};
      spec.timeout = std::chrono::seconds(2);
      if (http_request(client_port_, spec).status == 200) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("etcd did not start: " + read_whole_file(dir_ / "etcd.log"));
}

void EtcdServer::stop() {
  if (process_) process_->kill();
  process_.reset();
}

void EtcdServer::start() {
  if (process_ && process_->running()) return;
  launch();
}

bool EtcdServer::running() {
  return process_ && process_->running();
}

std::string EtcdServer::call(const std::string& path, const std::string& body) {
  HttpRequestSpec spec;
  spec.method = "POST";
  spec.target = path;
  spec.body = body;
  spec.headers = {{"Content-Type", "application/json"}};
  spec.timeout = std::chrono::seconds(10);
  const auto response = http_request(client_port_, spec);
  if (response.status != 200) {
    throw std::runtime_error(
        "etcd " + path + ": " +
        (response.status ? std::to_string(response.status) + " " + response.body : response.error));
  }
  return response.body;
}

std::int64_t EtcdServer::put(const std::string& key, const std::string& value) {
  return revision_of(
      json::parse(call("/v3/kv/put", json{{"key", b64(key)}, {"value", b64(value)}}.dump())));
}

std::int64_t EtcdServer::del(const std::string& key) {
  return revision_of(json::parse(call("/v3/kv/deleterange", json{{"key", b64(key)}}.dump())));
}

void EtcdServer::compact(std::int64_t revision) {
  call("/v3/kv/compaction",
       json{{"revision", std::to_string(revision)}, {"physical", true}}.dump());
}

std::int64_t EtcdServer::revision() {
  return revision_of(json::parse(call("/v3/kv/range", json{{"key", b64("/")}}.dump())));
}

}  // namespace gatewayd::test
