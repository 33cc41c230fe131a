#pragma once
// The one line format of every gatewayd log file: a JSON object per line, or a readable text
// line. A payload that starts with kStructuredMarker was already rendered by the logging
// helpers for the current format (JSON members, or key=value text) and is spliced in as is.
#include <spdlog/formatter.h>

#include <cstdint>
#include <memory>
#include <string>

namespace gatewayd::logging {

inline constexpr char kStructuredMarker = '\x1e';

class LogFormatter final : public spdlog::formatter {
 public:
  explicit LogFormatter(bool json) : json_(json) {}

  // {"ts":"2024-05-01T12:34:56.789Z","level":"info","logger":"application","msg":"..."}
  // 2024-05-01T12:34:56.789Z info [application] ...
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

 private:
  void append_timestamp(const spdlog::details::log_msg& msg);

  bool json_;
  std::string line_;
  std::int64_t cached_second_ = INT64_MIN;
  char cached_date_[20] = {};  // "YYYY-MM-DDTHH:MM:SS" of cached_second_
};

}  // namespace gatewayd::logging
