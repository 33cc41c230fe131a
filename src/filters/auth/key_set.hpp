#pragma once
// An immutable collection of verification keys. Published as shared_ptr<const KeySet> so
// workers read the current set without locks while a refresh builds the next one.
#include <cstddef>
#include <string_view>
#include <vector>

#include "filters/auth/jwt_key.hpp"

namespace gatewayd::auth {

class KeySet {
 public:
  KeySet() = default;
  explicit KeySet(std::vector<JwtKey> keys) : keys_(std::move(keys)) {}

  void add(JwtKey key) { keys_.push_back(std::move(key)); }
  const std::vector<JwtKey>& keys() const noexcept { return keys_; }
  bool empty() const noexcept { return keys_.empty(); }
  std::size_t size() const noexcept { return keys_.size(); }
  bool has_kid(std::string_view kid) const noexcept;

  // `a`'s keys followed by `b`'s.
  static KeySet merge(const KeySet& a, const KeySet& b);

 private:
  std::vector<JwtKey> keys_;
};

}  // namespace gatewayd::auth
