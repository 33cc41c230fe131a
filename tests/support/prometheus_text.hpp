#pragma once
// Reading values out of a /metrics scrape (Prometheus text format).
#include <string_view>

namespace gatewayd::test {

// Sum of the samples of one metric family over all its label sets; 0 when absent.
double metric_value(std::string_view text, std::string_view name);

}  // namespace gatewayd::test
