#pragma once
// Per-worker keep-alive connections to upstream endpoints. Not thread-safe by design: each
// worker owns one pool and touches it only from its own event loop.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gatewayd {

struct UpstreamConnection {
  explicit UpstreamConnection(boost::asio::any_io_executor ex) : stream(std::move(ex)) {}
  boost::beast::tcp_stream stream;
  boost::beast::flat_buffer buffer;
  std::string key;  // endpoint id "host:port"
  std::chrono::steady_clock::time_point idle_since{};
  bool reused = false;  // came from the idle pool (may have been closed by the peer meanwhile)
};

using UpstreamConnectionPtr = std::unique_ptr<UpstreamConnection>;

class ConnectionPool {
 public:
  ConnectionPool(boost::asio::io_context& io, std::size_t max_idle_per_endpoint,
                 std::chrono::milliseconds idle_timeout);

  // A live idle connection when one exists, else a new one connected within `connect_timeout`.
  boost::asio::awaitable<std::pair<boost::system::error_code, UpstreamConnectionPtr>> acquire(
      std::string_view id, std::string_view host, std::uint16_t port,
      std::chrono::milliseconds connect_timeout, bool allow_reuse = true);

  // Returns a connection whose last exchange completed cleanly; it is closed instead when the
  // endpoint already holds max_idle connections.
  void release(UpstreamConnectionPtr conn);

  // Closes idle connections older than the idle timeout.
  void sweep();
  // Closes every idle connection (shutdown, endpoint removed).
  void clear();
  // Closes idle connections of endpoints not in `keep` (after a config or discovery change).
  void retain_only(const std::vector<std::string>& keep);

  // Readable from any thread (metrics scrape); written only by the owning worker.
  std::size_t idle_count() const noexcept { return idle_total_.load(std::memory_order_relaxed); }

 private:
  static bool still_open(UpstreamConnection& conn);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::resolver resolver_;
  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  // Transparent hashing: lookups by the endpoint id's string_view allocate nothing.
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const noexcept {
      return std::hash<std::string_view>{}(id);
    }
  };
  std::unordered_map<std::string, std::vector<UpstreamConnectionPtr>, IdHash, std::equal_to<>>
      idle_;
  std::atomic<std::size_t> idle_total_{0};
};

}  // namespace gatewayd
