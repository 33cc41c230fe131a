#include "observability/log_formatter.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <ctime>

#include "observability/json_text.hpp"

namespace gatewayd::logging {

void LogFormatter::append_timestamp(const spdlog::details::log_msg& msg) {
  using namespace std::chrono;
  const auto since = msg.time.time_since_epoch();
  const auto secs = duration_cast<seconds>(since);
  auto ms = duration_cast<milliseconds>(since - secs).count();
  std::int64_t second = secs.count();
  if (ms < 0) {  // before 1970: keep the fraction positive
    ms += 1000;
    --second;
  }
  if (second != cached_second_) {
    const std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::strftime(cached_date_, sizeof cached_date_, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second_ = second;
  }
  line_.append(cached_date_, std::strlen(cached_date_));
  char frac[6] = {'.',
                  static_cast<char>('0' + ms / 100),
                  static_cast<char>('0' + ms / 10 % 10),
                  static_cast<char>('0' + ms % 10),
                  'Z',
                  0};
  line_.append(frac, 5);
}

void LogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  line_.clear();
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  const std::string_view logger(msg.logger_name.data(), msg.logger_name.size());
  const auto level_name = spdlog::level::to_string_view(msg.level);
  const std::string_view level(level_name.data(), level_name.size());
  const bool structured = !payload.empty() && payload.front() == kStructuredMarker;

  if (json_) {
    line_ += R"({"ts":")";
    append_timestamp(msg);
    line_ += R"(","level":")";
    line_ += level;
    line_ += R"(","logger":")";
    append_json_text(line_, logger);
    line_ += "\",";
    if (structured) {
      line_ += payload.substr(1);
    } else {
      line_ += R"("msg":")";
      append_json_text(line_, payload);
      line_ += '"';
    }
    line_ += "}\n";
  } else {
    append_timestamp(msg);
    line_ += ' ';
    line_ += level;
    line_ += " [";
    append_plain_text(line_, logger);
    line_ += "] ";
    append_plain_text(line_, structured ? payload.substr(1) : payload);
    line_ += '\n';
  }
  dest.append(line_.data(), line_.data() + line_.size());
}

std::unique_ptr<spdlog::formatter> LogFormatter::clone() const {
  return std::make_unique<LogFormatter>(json_);
}

}  // namespace gatewayd::logging
