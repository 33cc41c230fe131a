#include "filters/auth/refresh_token_store.hpp"

#include "filters/auth/crypto_util.hpp"

namespace gatewayd::auth {
namespace {

constexpr std::string_view kPrefix = "rt1.";
constexpr std::size_t kFamilyChars = 22;  // 16 bytes of base64url
constexpr std::size_t kSecretChars = 43;  // 32 bytes of base64url

bool is_base64url(std::string_view s) noexcept {
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

NewRefreshToken generate_refresh_token() {
  return generate_refresh_token(base64url_encode(random_bytes(16)));
}

NewRefreshToken generate_refresh_token(std::string_view family) {
  NewRefreshToken out;
  out.token.reserve(kPrefix.size() + family.size() + 1 + kSecretChars);
  out.token += kPrefix;
  out.token += family;
  out.token += '.';
  out.token += base64url_encode(random_bytes(32));
  out.id.family = std::string(family);
  out.id.hash = to_hex(sha256(out.token));
  return out;
}

std::optional<RefreshTokenId> parse_refresh_token(std::string_view token) {
  if (token.size() != kPrefix.size() + kFamilyChars + 1 + kSecretChars) return std::nullopt;
  if (token.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const std::string_view family = token.substr(kPrefix.size(), kFamilyChars);
  if (token[kPrefix.size() + kFamilyChars] != '.') return std::nullopt;
  const std::string_view secret = token.substr(kPrefix.size() + kFamilyChars + 1);
  if (!is_base64url(family) || !is_base64url(secret)) return std::nullopt;
  return RefreshTokenId{std::string(family), to_hex(sha256(token))};
}

std::string_view refresh_status_name(RefreshStatus status) noexcept {
  switch (status) {
    case RefreshStatus::kOk:
      return "ok";
    case RefreshStatus::kUnknown:
      return "unknown";
    case RefreshStatus::kReused:
      return "reused";
    case RefreshStatus::kRevoked:
      return "revoked";
    case RefreshStatus::kUnavailable:
      return "unavailable";
  }
  return "unavailable";
}

}  // namespace gatewayd::auth
