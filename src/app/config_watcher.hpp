#pragma once
// Watches the config directory with inotify and calls back (debounced) when routes.yaml or
// services.yaml change. Watching the directory rather than the files also catches editors that
// write a new file and rename it, and Kubernetes ConfigMap updates, which swap the `..data`
// symlink atomically.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace gatewayd {

class ConfigWatcher {
 public:
  ConfigWatcher(boost::asio::io_context& io, std::string directory,
                std::vector<std::string> file_names, std::function<void()> on_change,
                std::chrono::milliseconds debounce = std::chrono::milliseconds(200));
  ~ConfigWatcher();
  void start();  // throws std::system_error when inotify is unavailable

 private:
  void read_events();
  void trigger();

  boost::asio::io_context& io_;
  std::string directory_;
  std::vector<std::string> files_;
  std::function<void()> on_change_;
  std::chrono::milliseconds debounce_;
  boost::asio::posix::stream_descriptor descriptor_;
  boost::asio::steady_timer debounce_timer_;
  std::vector<char> buffer_;
};

}  // namespace gatewayd
