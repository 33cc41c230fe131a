#pragma once
// The endpoints one request has already tried (or found refusing), so a retry goes elsewhere.
// Fixed capacity, no allocation: attempts per request are few. Adding past the capacity is
// ignored, which only means a later pick might repeat an endpoint.
#include <algorithm>
#include <array>
#include <cstddef>

namespace gatewayd::upstream {

class Endpoint;

class ExcludeSet {
 public:
  static constexpr std::size_t kCapacity = 16;

  void add(const Endpoint* endpoint) noexcept {
    if (endpoint == nullptr || contains(endpoint) || size_ == kCapacity) return;
    items_[size_++] = endpoint;
  }
  bool contains(const Endpoint* endpoint) const noexcept {
    return std::find(items_.begin(), items_.begin() + size_, endpoint) != items_.begin() + size_;
  }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  void clear() noexcept { size_ = 0; }

 private:
  std::array<const Endpoint*, kCapacity> items_{};
  std::size_t size_ = 0;
};

}  // namespace gatewayd::upstream
