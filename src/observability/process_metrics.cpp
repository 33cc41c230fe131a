// Process metrics in the names Prometheus client libraries use, read from /proc when scraped.
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gatewayd/metrics.hpp"

#ifndef GATEWAYD_VERSION
#define GATEWAYD_VERSION "unknown"
#endif

namespace gatewayd::metrics {

namespace {

// Reads a small /proc file without iostreams. Returns an empty string on failure.
std::string read_proc_file(const char* path) {
  std::string out;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  std::array<char, 4096> buf;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
    if (out.size() > 64 * 1024) break;
  }
  ::close(fd);
  return out;
}

// The n-th (0-based) space-separated unsigned field of `text`.
bool nth_field(std::string_view text, std::size_t n, std::uint64_t& value) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < n; ++i) {
    pos = text.find(' ', pos);
    if (pos == std::string_view::npos) return false;
    ++pos;
  }
  const char* begin = text.data() + pos;
  const auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), value);
  return ec == std::errc{} && ptr != begin;
}

double page_size() {
  static const double kPage = static_cast<double>(::sysconf(_SC_PAGESIZE));
  return kPage;
}

double statm_field(std::size_t n) {
  const std::string statm = read_proc_file("/proc/self/statm");
  std::uint64_t pages = 0;
  if (!nth_field(statm, n, pages)) return 0;
  return static_cast<double>(pages) * page_size();
}

double open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count > 0 ? count - 1 : 0;  // the directory stream's own descriptor
}

double max_fds() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<double>(limit.rlim_cur);
}

double cpu_seconds() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  const auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Boot time (/proc/stat btime) plus the process start in clock ticks since boot (field 22 of
// /proc/self/stat, counted after the parenthesised command name, which may contain spaces).
double start_time_seconds() {
  const std::string stat = read_proc_file("/proc/self/stat");
  const std::string sys = read_proc_file("/proc/stat");
  const auto close = stat.rfind(')');
  const auto btime_pos = sys.find("\nbtime ");
  std::uint64_t ticks = 0;
  std::uint64_t btime = 0;
  if (close != std::string::npos && btime_pos != std::string::npos &&
      nth_field(std::string_view(stat).substr(close + 2), 19, ticks)) {
    const char* begin = sys.data() + btime_pos + 7;
    const auto [ptr, ec] = std::from_chars(begin, sys.data() + sys.size(), btime);
    const long hz = ::sysconf(_SC_CLK_TCK);
    if (ec == std::errc{} && hz > 0) {
      return static_cast<double>(btime) + static_cast<double>(ticks) / static_cast<double>(hz);
    }
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(now).count();
}

}  // namespace

void register_process_metrics(Registry& registry, std::string_view version) {
  registry.counter_callback("process_cpu_seconds_total",
                            "Total user and system CPU time spent in seconds.", {}, cpu_seconds);
  registry.gauge_callback("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                          [] { return statm_field(1); });
  registry.gauge_callback("process_virtual_memory_bytes", "Virtual memory size in bytes.", {},
                          [] { return statm_field(0); });
  registry.gauge_callback("process_open_fds", "Number of open file descriptors.", {}, open_fds);
  registry.gauge_callback("process_max_fds", "Maximum number of open file descriptors.", {},
                          max_fds);
  const double started = start_time_seconds();
  registry.gauge_callback("process_start_time_seconds",
                          "Start time of the process since unix epoch in seconds.", {},
                          [started] { return started; });

  // One build_info series: an explicit version replaces the compiled-in one.
  static constexpr std::string_view kCompiled = GATEWAYD_VERSION;
  const std::string v(version.empty() ? kCompiled : version);
  if (v != kCompiled) {
    registry.remove_callback("gatewayd_build_info", {{"version", std::string(kCompiled)}});
  }
  registry.gauge_callback("gatewayd_build_info",
                          "Build information: the version label of the running binary.",
                          {{"version", v}}, [] { return 1.0; });
}

}  // namespace gatewayd::metrics
