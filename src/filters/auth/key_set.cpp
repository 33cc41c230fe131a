#include "filters/auth/key_set.hpp"

namespace gatewayd::auth {

bool KeySet::has_kid(std::string_view kid) const noexcept {
  for (const auto& k : keys_) {
    if (k.kid() == kid) return true;
  }
  return false;
}

KeySet KeySet::merge(const KeySet& a, const KeySet& b) {
  std::vector<JwtKey> all;
  all.reserve(a.size() + b.size());
  all.insert(all.end(), a.keys_.begin(), a.keys_.end());
  all.insert(all.end(), b.keys_.begin(), b.keys_.end());
  return KeySet(std::move(all));
}

}  // namespace gatewayd::auth
