#include <utility>

#include "gatewayd/filter.hpp"

namespace gatewayd {

void RequestContext::reset() {
  // Moved out, cleared, moved back: the buffers survive the reassignment in between, and any
  // member added later starts from its default without being listed here.
  auto take = [](auto& v) {
    auto kept = std::move(v);
    kept.clear();
    return kept;
  };
  auto path = take(target.path);
  auto id = take(request_id);
  auto headers = take(response_headers);
  *this = RequestContext{};
  target.path = std::move(path);
  request_id = std::move(id);
  response_headers = std::move(headers);
}

}  // namespace gatewayd
