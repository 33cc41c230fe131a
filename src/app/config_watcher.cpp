#include "app/config_watcher.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace gatewayd {

namespace asio = boost::asio;

ConfigWatcher::ConfigWatcher(asio::io_context& io, std::string directory,
                             std::vector<std::string> file_names, std::function<void()> on_change,
                             std::chrono::milliseconds debounce)
    : io_(io),
      directory_(std::move(directory)),
      files_(std::move(file_names)),
      on_change_(std::move(on_change)),
      debounce_(debounce),
      descriptor_(io),
      debounce_timer_(io),
      buffer_(16 * 1024) {}

ConfigWatcher::~ConfigWatcher() {
  boost::system::error_code ec;
  descriptor_.close(ec);
}

void ConfigWatcher::start() {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  const auto mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MODIFY;
  if (::inotify_add_watch(fd, directory_.c_str(), mask) < 0) {
    const int err = errno;
    ::close(fd);
    throw std::system_error(err, std::generic_category(), "inotify_add_watch " + directory_);
  }
  descriptor_.assign(fd);
  read_events();
}

void ConfigWatcher::read_events() {
  descriptor_.async_read_some(
      asio::buffer(buffer_), [this](boost::system::error_code ec, std::size_t n) {
        if (ec) return;
        bool relevant = false;
        std::size_t offset = 0;
        while (offset + sizeof(inotify_event) <= n) {
          const auto* ev = reinterpret_cast<const inotify_event*>(buffer_.data() + offset);
          const std::string name = ev->len > 0 ? std::string(ev->name) : std::string();
          // "..data" is the symlink Kubernetes swaps when a mounted ConfigMap changes.
          if (name == "..data") relevant = true;
          for (const auto& f : files_) {
            if (name == f) relevant = true;
          }
          offset += sizeof(inotify_event) + ev->len;
        }
        if (relevant) trigger();
        read_events();
      });
}

void ConfigWatcher::trigger() {
  // Editors and ConfigMap swaps produce bursts of events: reload once they settle.
  debounce_timer_.expires_after(debounce_);
  debounce_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) on_change_();
  });
}

}  // namespace gatewayd
