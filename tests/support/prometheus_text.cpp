#include "support/prometheus_text.hpp"

#include <cstdlib>
#include <string>

namespace gatewayd::test {

double metric_value(std::string_view text, std::string_view name) {
  double sum = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    // A sample line of the family: the name, then its labels or the value.
    if (!line.starts_with(name) || line.size() <= name.size()) continue;
    const char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    const std::string value(line.substr(line.rfind(' ') + 1));
    sum += std::strtod(value.c_str(), nullptr);
  }
  return sum;
}

}  // namespace gatewayd::test
