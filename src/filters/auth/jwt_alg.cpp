#include "filters/auth/jwt_alg.hpp"

#include <array>
#include <stdexcept>

namespace gatewayd::auth {
namespace {

constexpr std::array<std::string_view, kJwtAlgCount> kNames = {
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
    "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};

}  // namespace

std::string_view jwt_alg_name(JwtAlg alg) noexcept {
  return kNames[static_cast<int>(alg)];
}

std::optional<JwtAlg> parse_jwt_alg(std::string_view name) noexcept {
  for (int i = 0; i < kJwtAlgCount; ++i) {
    if (kNames[i] == name) return static_cast<JwtAlg>(i);
  }
  return std::nullopt;
}

const char* jwt_alg_digest(JwtAlg alg) noexcept {
  switch (alg) {
    case JwtAlg::kHS256:
    case JwtAlg::kRS256:
    case JwtAlg::kPS256:
    case JwtAlg::kES256:
      return "SHA256";
    case JwtAlg::kHS384:
    case JwtAlg::kRS384:
    case JwtAlg::kPS384:
    case JwtAlg::kES384:
      return "SHA384";
    case JwtAlg::kHS512:
    case JwtAlg::kRS512:
    case JwtAlg::kPS512:
    case JwtAlg::kES512:
      return "SHA512";
    case JwtAlg::kEdDSA:
      break;
  }
  return "";
}

std::string AlgSet::to_string() const {
  std::string out;
  for (int i = 0; i < kJwtAlgCount; ++i) {
    if (contains(static_cast<JwtAlg>(i))) {
      if (!out.empty()) out += ',';
      out += kNames[i];
    }
  }
  return out;
}

AlgSet parse_alg_list(std::string_view text) {
  AlgSet set;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty()) continue;
    auto alg = parse_jwt_alg(item);
    if (!alg) {
      throw std::invalid_argument("unsupported JWT algorithm '" + std::string(item) + "'");
    }
    set.insert(*alg);
  }
  return set;
}

}  // namespace gatewayd::auth
