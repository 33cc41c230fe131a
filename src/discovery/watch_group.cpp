#include "discovery/watch_group.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>
#include <exception>

#include "gatewayd/logging.hpp"

namespace gatewayd::discovery {

namespace asio = boost::asio;

WatchGroup::WatchGroup(asio::any_io_executor executor, std::string name)
    : executor_(std::move(executor)), name_(std::move(name)) {}

WatchGroup::~WatchGroup() {
  shutdown(std::chrono::seconds(5));
}

void WatchGroup::start(const std::string& key, Factory factory) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    auto& slot = entries_[key];
    if (slot && !slot->stop->load()) return;
    // A stopped watch of this key may still be winding down: the new one takes its place in
    // the map and the old one's completion leaves the map alone.
    slot = std::make_shared<Entry>();
    entry = slot;
  }
  // Spawned on the executor so that the signal's slot is only touched from that thread.
  asio::post(executor_, [this, key, entry, factory = std::move(factory)]() mutable {
    if (entry->stop->load()) {
      finished(key, entry, nullptr);
      return;
    }
    asio::co_spawn(executor_, factory(entry->stop),
                   asio::bind_cancellation_slot(entry->signal.slot(),
                                                [this, key, entry](std::exception_ptr error) {
                                                  finished(key, entry, error);
                                                }));
  });
}

void WatchGroup::cancel(const std::string& key) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(key);
    if (it == entries_.end()) return;
    entry = it->second;
  }
  entry->stop->store(true);
  asio::post(executor_, [entry] { entry->signal.emit(asio::cancellation_type::terminal); });
}

void WatchGroup::cancel_all() {
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, entry] : entries_) all.push_back(entry);
  }
  for (const auto& entry : all) {
    entry->stop->store(true);
    asio::post(executor_, [entry] { entry->signal.emit(asio::cancellation_type::terminal); });
  }
}

bool WatchGroup::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return entries_.empty(); });
}

bool WatchGroup::shutdown(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  cancel_all();
  return wait_idle(timeout);
}

bool WatchGroup::running(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  return it != entries_.end() && !it->second->stop->load();
}

std::size_t WatchGroup::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void WatchGroup::finished(const std::string& key, const std::shared_ptr<Entry>& entry,
                          std::exception_ptr error) {
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::operation_aborted) {
        logging::log_event(logging::app(), spdlog::level::err, "discovery watch failed",
                           {{"group", name_}, {"watch", key}, {"error", e.what()}});
      }
    } catch (const std::exception& e) {
      logging::log_event(logging::app(), spdlog::level::err, "discovery watch failed",
                         {{"group", name_}, {"watch", key}, {"error", e.what()}});
    } catch (...) {
      logging::log_event(logging::app(), spdlog::level::err, "discovery watch failed",
                         {{"group", name_}, {"watch", key}});
    }
  }
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it != entries_.end() && it->second == entry) entries_.erase(it);
  idle_.notify_all();
}

}  // namespace gatewayd::discovery
