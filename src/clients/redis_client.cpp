#include "clients/redis_client.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames (sized operator delete
// of awaitable_frame_base).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <exception>
#include <optional>
#include <utility>

#include "clients/redis_slot.hpp"
#include "gatewayd/logging.hpp"
#include "gatewayd/metrics.hpp"

namespace gatewayd {

namespace asio = boost::asio;

namespace {

void log_escaped(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    logging::error().error("redis client task failed: {}", ex.what());
  } catch (...) {
    logging::error().error("redis client task failed");
  }
}

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381"
bool parse_redirect(std::string_view line, std::uint16_t& slot, RedisEndpoint& target) {
  const auto first = line.find(' ');
  if (first == std::string_view::npos) return false;
  const auto second = line.find(' ', first + 1);
  if (second == std::string_view::npos) return false;
  const std::string_view slot_text = line.substr(first + 1, second - first - 1);
  unsigned value = 0;
  const auto [ptr, ec] =
      std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), value);
  if (ec != std::errc() || ptr != slot_text.data() + slot_text.size() || value >= kRedisSlotCount) {
    return false;
  }
  auto ep = RedisEndpoint::parse(line.substr(second + 1));
  if (!ep) return false;
  slot = static_cast<std::uint16_t>(value);
  target = std::move(*ep);
  return true;
}

bool is_connection_error(const std::error_code& ec) {
  return ec == RedisErrc::kConnectionLost || ec == RedisErrc::kConnectFailed ||
         ec == RedisErrc::kNotConnected || ec == RedisErrc::kTimeout;
}

}  // namespace

std::shared_ptr<RedisClient> RedisClient::create(asio::any_io_executor ex, RedisOptions options) {
  return std::shared_ptr<RedisClient>(new RedisClient(std::move(ex), std::move(options)));
}

RedisClient::RedisClient(asio::any_io_executor ex, RedisOptions options)
    : ex_(std::move(ex)), options_(std::move(options)), refresh_timer_(ex_) {
  asking_ = RedisCommand({"ASKING"}, RedisCommand::kNoKey).encoded();
  auto& registry = metrics::Registry::global();
  const metrics::Labels client{{"client", options_.name}};
  latency_ = &registry.histogram("gatewayd_redis_latency_seconds",
                                 "Latency of Redis commands as seen by the gateway", client);
  auto errors = [&](const char* kind) {
    return &registry.counter("gatewayd_redis_errors_total",
                             "Redis commands that failed (timeout, connection, server, other)",
                             {{"client", options_.name}, {"kind", kind}});
  };
  errors_timeout_ = errors("timeout");
  errors_connection_ = errors("connection");
  errors_server_ = errors("server");
  errors_other_ = errors("other");
  if (options_.cluster) {
    slot_owner_.assign(kRedisSlotCount, kNoOwner);
    for (const auto& seed : options_.cluster_nodes) node(seed);
  } else {
    single_ = std::make_shared<RedisConnection>(ex_, options_.endpoint, options_);
  }
}

RedisClient::~RedisClient() {
  if (single_) single_->close();
  for (auto& n : nodes_) n.connection->close();
}

void RedisClient::start() {
  if (started_ || stopped_) return;
  started_ = true;
  if (single_) {
    single_->start();
  } else {
    schedule_refresh();
  }
}

void RedisClient::stop() {
  if (stopped_) return;
  stopped_ = true;
  refresh_timer_.cancel();
  if (single_) single_->close();
  for (auto& n : nodes_) n.connection->close();
}

bool RedisClient::ready() const noexcept {
  if (single_) return single_->ready();
  if (!slot_map_loaded_) return false;
  return std::any_of(nodes_.begin(), nodes_.end(),
                     [](const Node& n) { return n.connection->ready(); });
}

asio::awaitable<RedisResult> RedisClient::execute(RedisCommand command) {
  const auto deadline = Clock::now() + options_.command_timeout;
  return run(shared_from_this(), std::move(command), deadline);
}

asio::awaitable<RedisResult> RedisClient::execute(RedisCommand command,
                                                  Clock::time_point deadline) {
  return run(shared_from_this(), std::move(command), deadline);
}

asio::awaitable<RedisResult> RedisClient::eval(const RedisScript& script,
                                               std::span<const std::string_view> keys,
                                               std::span<const std::string_view> args,
                                               Clock::time_point deadline) {
  // EVALSHA sha numkeys key... arg...
  constexpr std::size_t kInline = 24;
  std::string_view inline_argv[kInline];
  std::vector<std::string_view> heap_argv;
  const std::size_t argc = 3 + keys.size() + args.size();
  std::string_view* argv = inline_argv;
  if (argc > kInline) {
    heap_argv.resize(argc);
    argv = heap_argv.data();
  }
  const std::string numkeys = std::to_string(keys.size());
  argv[0] = "EVALSHA";
  argv[1] = script.sha1();
  argv[2] = numkeys;
  std::copy(keys.begin(), keys.end(), argv + 3);
  std::copy(args.begin(), args.end(), argv + 3 + keys.size());
  RedisCommand evalsha(std::span<const std::string_view>(argv, argc),
                       keys.empty() ? RedisCommand::kNoKey : 3);
  return run_eval(shared_from_this(), std::move(evalsha), &script, deadline);
}

asio::awaitable<RedisResult> RedisClient::run_eval(std::shared_ptr<RedisClient> self,
                                                   RedisCommand evalsha, const RedisScript* script,
                                                   Clock::time_point deadline) {
  const auto started = Clock::now();
  RedisResult r = co_await self->dispatch(evalsha, deadline);
  if (r.server_error_is("NOSCRIPT")) {
    // First use on this node, or its script cache was flushed (SCRIPT FLUSH, restart).
    RedisCommand load({"SCRIPT", "LOAD", script->source()}, RedisCommand::kNoKey);
    if (evalsha.slot()) load.route_to_slot(*evalsha.slot());
    RedisResult loaded = co_await self->dispatch(std::move(load), deadline);
    if (!loaded) {
      self->record(loaded, started);
      co_return loaded;
    }
    r = co_await self->dispatch(std::move(evalsha), deadline);
  }
  self->record(r, started);
  co_return r;
}

asio::awaitable<RedisResult> RedisClient::run(std::shared_ptr<RedisClient> self,
                                              RedisCommand command, Clock::time_point deadline) {
  const auto started = Clock::now();
  RedisResult r = co_await self->dispatch(std::move(command), deadline);
  self->record(r, started);
  co_return r;
}

asio::awaitable<RedisResult> RedisClient::dispatch(RedisCommand command,
                                                   Clock::time_point deadline) {
  if (!command.valid()) {
    co_return RedisResult::failure(RedisErrc::kInvalidCommand, "redis command not encoded");
  }
  if (stopped_) co_return RedisResult::failure(RedisErrc::kShutdown, "redis client stopped");
  if (!started_) start();
  if (single_) co_return co_await single_->execute(command.encoded(), deadline);
  co_return co_await run_cluster(shared_from_this(), std::move(command), deadline);
}

void RedisClient::record(const RedisResult& result, Clock::time_point started) {
  latency_->observe(std::chrono::duration<double>(Clock::now() - started).count());
  if (result.ok()) return;
  if (result.ec == RedisErrc::kTimeout) {
    errors_timeout_->inc();
  } else if (is_connection_error(result.ec)) {
    errors_connection_->inc();
  } else if (result.ec == RedisErrc::kServerError) {
    errors_server_->inc();
  } else {
    errors_other_->inc();
  }
}

// ---- cluster ----

std::uint16_t RedisClient::node_index(const RedisEndpoint& endpoint) {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].endpoint == endpoint) return static_cast<std::uint16_t>(i);
  }
  if (nodes_.size() >= options_.max_cluster_nodes) return kNoOwner;
  auto conn = std::make_shared<RedisConnection>(ex_, endpoint, options_);
  if (stopped_) conn->close();
  nodes_.push_back(Node{endpoint, std::move(conn)});
  return static_cast<std::uint16_t>(nodes_.size() - 1);
}

std::shared_ptr<RedisConnection> RedisClient::node(const RedisEndpoint& endpoint) {
  const std::uint16_t index = node_index(endpoint);
  return index == kNoOwner ? nullptr : nodes_[index].connection;
}

std::shared_ptr<RedisConnection> RedisClient::node_for_slot(std::uint16_t slot) {
  const std::uint16_t owner = slot_owner_[slot];
  if (owner != kNoOwner && owner < nodes_.size()) return nodes_[owner].connection;
  return any_node();
}

std::shared_ptr<RedisConnection> RedisClient::any_node() {
  // A node that is up answers with MOVED if it does not own the slot.
  for (auto& n : nodes_) {
    if (n.connection->ready()) return n.connection;
  }
  return nodes_.empty() ? nullptr : nodes_.front().connection;
}

asio::awaitable<RedisResult> RedisClient::run_cluster(std::shared_ptr<RedisClient> self,
                                                      RedisCommand command,
                                                      Clock::time_point deadline) {
  std::optional<RedisEndpoint> ask_target;
  for (unsigned attempt = 0; attempt <= self->options_.max_redirects; ++attempt) {
    std::shared_ptr<RedisConnection> conn;
    if (ask_target) {
      conn = self->node(*ask_target);
    } else if (command.slot()) {
      conn = self->node_for_slot(*command.slot());
    } else {
      conn = self->any_node();
    }
    if (!conn) {
      co_return RedisResult::failure(RedisErrc::kNoNode, "no redis cluster node for the slot");
    }

    RedisResult r;
    if (ask_target) {
      // ASKING applies to the next command on the same connection: submit both back to back.
      auto asking = conn->submit(self->asking_, deadline);
      auto pending = conn->submit(command.encoded(), deadline);
      RedisResult asked = co_await conn->wait(std::move(asking));
      r = co_await conn->wait(std::move(pending));
      if (!asked && r.ok()) r = std::move(asked);
      ask_target.reset();
    } else {
      r = co_await conn->execute(command.encoded(), deadline);
    }

    std::uint16_t slot = 0;
    RedisEndpoint target;
    if (r.server_error_is("MOVED") && parse_redirect(r.message, slot, target)) {
      ++self->redirects_;
      // Fix this slot now so the retry goes to the right node, and reload the whole map: one
      // MOVED usually means a resharding or failover moved many slots.
      const std::uint16_t owner = self->node_index(target);
      if (owner != kNoOwner) self->slot_owner_[slot] = owner;
      self->schedule_refresh();
      continue;
    }
    if (r.server_error_is("ASK") && parse_redirect(r.message, slot, target)) {
      ++self->redirects_;
      ask_target = std::move(target);
      continue;
    }
    if (is_connection_error(r.ec) || r.server_error_is("CLUSTERDOWN")) self->schedule_refresh();
    co_return r;
  }
  co_return RedisResult::failure(RedisErrc::kTooManyRedirects,
                                 "redis cluster redirected the command too many times");
}

void RedisClient::schedule_refresh() {
  if (!options_.cluster || stopped_ || refreshing_) return;
  // At most a few refreshes per second, however many commands see MOVED.
  const auto now = Clock::now();
  if (slot_map_loaded_ && now - last_refresh_ < std::chrono::milliseconds(200)) return;
  refreshing_ = true;
  last_refresh_ = now;
  asio::co_spawn(ex_, refresh_slots(shared_from_this()), log_escaped);
}

asio::awaitable<void> RedisClient::refresh_slots(std::shared_ptr<RedisClient> self) {
  struct Done {
    RedisClient* client;
    ~Done() { client->refreshing_ = false; }
  } done{self.get()};

  const RedisCommand cmd({"CLUSTER", "SLOTS"}, RedisCommand::kNoKey);
  for (;;) {
    // Ask nodes that are up first, then the rest (seeds included), until one answers.
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < self->nodes_.size(); ++i) {
      if (self->nodes_[i].connection->ready()) order.push_back(i);
    }
    for (std::size_t i = 0; i < self->nodes_.size(); ++i) {
      if (!self->nodes_[i].connection->ready()) order.push_back(i);
    }
    for (const std::size_t i : order) {
      if (self->stopped_) co_return;
      auto conn = self->nodes_[i].connection;
      const RedisEndpoint asked = self->nodes_[i].endpoint;
      const auto deadline =
          Clock::now() + std::max(self->options_.command_timeout, self->options_.connect_timeout);
      RedisResult r = co_await conn->execute(cmd.encoded(), deadline);
      if (r.ok() && self->apply_slot_map(r.reply, asked)) {
        ++self->refreshes_;
        self->last_refresh_ = Clock::now();
        co_return;
      }
    }
    if (self->slot_map_loaded_ || self->stopped_) co_return;
    // Nothing answered and there is no map yet: keep trying, so the map appears by itself once
    // the cluster is reachable.
    self->refresh_timer_.expires_after(self->options_.reconnect_max);
    co_await self->refresh_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

bool RedisClient::apply_slot_map(const RedisReply& reply, const RedisEndpoint& asked) {
  // [[start, end, [host, port, id...], replica...], ...]
  if (!reply.is_array() || reply.elements.empty()) return false;
  std::vector<std::uint16_t> owners(kRedisSlotCount, kNoOwner);
  for (const auto& range : reply.elements) {
    if (!range.is_array() || range.elements.size() < 3) continue;
    const auto& start = range.elements[0];
    const auto& end = range.elements[1];
    const auto& master = range.elements[2];
    if (!start.is_integer() || !end.is_integer() || !master.is_array() ||
        master.elements.size() < 2 || !master.elements[1].is_integer()) {
      continue;
    }
    if (start.integer < 0 || end.integer >= kRedisSlotCount || start.integer > end.integer) {
      continue;
    }
    RedisEndpoint ep;
    // An empty host means "the address you reached me on".
    ep.host = master.elements[0].str.empty() || master.elements[0].str == "?"
                  ? asked.host
                  : master.elements[0].str;
    if (master.elements[1].integer <= 0 || master.elements[1].integer > 65535) continue;
    ep.port = static_cast<std::uint16_t>(master.elements[1].integer);
    const std::uint16_t index = node_index(ep);
    if (index == kNoOwner) continue;
    std::fill(owners.begin() + start.integer, owners.begin() + end.integer + 1, index);
  }
  if (std::all_of(owners.begin(), owners.end(), [](std::uint16_t o) { return o == kNoOwner; })) {
    return false;
  }
  const bool first = !slot_map_loaded_;
  slot_owner_ = std::move(owners);
  slot_map_loaded_ = true;
  for (auto& n : nodes_) n.connection->start();
  if (first) {
    logging::app().info("redis cluster: slot map loaded, {} nodes known", nodes_.size());
  }
  return true;
}

}  // namespace gatewayd
