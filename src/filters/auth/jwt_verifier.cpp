#include "filters/auth/jwt_verifier.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "filters/auth/crypto_util.hpp"

namespace gatewayd::auth {
namespace {

using nlohmann::json;

constexpr std::string_view kNotCompact = "token is not a compact JWS";
constexpr std::string_view kBadHeader = "token header is not valid";
constexpr std::string_view kBadClaims = "token claims are not valid";
constexpr std::string_view kCritical = "token header has critical extensions";
constexpr std::string_view kBadAlg = "token algorithm not accepted";
constexpr std::string_view kBadSig = "token signature is invalid";
constexpr std::string_view kNoSig = "token is not signed";
constexpr std::string_view kExpiredMsg = "token expired";
constexpr std::string_view kNotYet = "token not yet valid";
constexpr std::string_view kIssuedLater = "token issued in the future";
constexpr std::string_view kIssuer = "token issuer not accepted";
constexpr std::string_view kAudience = "token audience not accepted";
constexpr std::string_view kMissing = "token lacks a required claim";
constexpr std::string_view kUnknownKidMsg = "token key id unknown";
constexpr std::string_view kLarge = "token too large";
constexpr std::string_view kInternal = "token could not be checked";

// Upper bound for NumericDate values: system_clock counts nanoseconds in 64 bits (year 2262).
constexpr double kMaxSeconds = 9.0e9;
constexpr std::size_t kMaxListEntries = 256;

bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

json parse_object(std::string_view text) {
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return json();
  return doc;
}

// Appends a string or an array of strings. Space-separated strings are split when `split`.
bool append_strings(const json& v, std::vector<std::string>& out, bool split) {
  auto add = [&](std::string_view s) {
    if (split) {
      while (!s.empty()) {
        auto sp = s.find(' ');
        auto part = s.substr(0, sp);
        if (!part.empty() && out.size() < kMaxListEntries &&
            std::find(out.begin(), out.end(), part) == out.end()) {
          out.emplace_back(part);
        }
        s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
      }
    } else if (!s.empty() && out.size() < kMaxListEntries) {
      out.emplace_back(s);
    }
  };
  if (v.is_string()) {
    add(v.get_ref<const std::string&>());
    return true;
  }
  if (!v.is_array()) return false;
  for (const auto& item : v) {
    if (!item.is_string()) return false;
    add(item.get_ref<const std::string&>());
  }
  return true;
}

const json* member(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

}  // namespace

std::string_view jwt_error_name(JwtError error) noexcept {
  switch (error) {
    case JwtError::kMalformed:
      return "malformed";
    case JwtError::kBadSignature:
      return "bad_signature";
    case JwtError::kUnsupportedAlg:
      return "unsupported_alg";
    case JwtError::kExpired:
      return "expired";
    case JwtError::kNotYetValid:
      return "not_yet_valid";
    case JwtError::kBadIssuer:
      return "bad_issuer";
    case JwtError::kBadAudience:
      return "bad_audience";
    case JwtError::kMissingClaim:
      return "missing_claim";
    case JwtError::kUnknownKid:
      return "unknown_kid";
    case JwtError::kTooLarge:
      return "too_large";
  }
  return "unknown";
}

JwtVerifier::JwtVerifier(JwtVerifyOptions options) : options_(std::move(options)) {}

JwtResult JwtVerifier::verify(std::string_view token, const KeySet& keys,
                              SystemTime now) const noexcept try {
  using R = JwtResult;
  if (token.size() > options_.max_token_bytes) return R::failure(JwtError::kTooLarge, kLarge);

  // Structure: exactly three segments, the first two non-empty.
  const auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos || dot1 == 0) {
    return R::failure(JwtError::kMalformed, kNotCompact);
  }
  const auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || dot2 == dot1 + 1 ||
      token.find('.', dot2 + 1) != std::string_view::npos) {
    return R::failure(JwtError::kMalformed, kNotCompact);
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);
  const std::string_view signing_input = token.substr(0, dot2);

  std::string buf;
  if (!base64url_decode_into(header_b64, buf)) return R::failure(JwtError::kMalformed, kBadHeader);
  const json header = parse_object(buf);
  if (!header.is_object()) return R::failure(JwtError::kMalformed, kBadHeader);

  const json* alg_v = member(header, "alg");
  if (alg_v == nullptr || !alg_v->is_string()) return R::failure(JwtError::kMalformed, kBadHeader);
  const std::string& alg_name = alg_v->get_ref<const std::string&>();
  if (equals_ignore_case(alg_name, "none")) return R::failure(JwtError::kUnsupportedAlg, kBadAlg);
  const auto alg = parse_jwt_alg(alg_name);
  if (!alg) return R::failure(JwtError::kUnsupportedAlg, kBadAlg);
  // RFC 7515 section 4.1.11: extensions we do not implement must make the token invalid, and
  // this verifier implements none.
  if (member(header, "crit") != nullptr) return R::failure(JwtError::kMalformed, kCritical);
  std::string_view kid;
  bool has_kid = false;
  if (const json* kid_v = member(header, "kid")) {
    if (!kid_v->is_string()) return R::failure(JwtError::kMalformed, kBadHeader);
    kid = kid_v->get_ref<const std::string&>();
    has_kid = true;
  }

  for (char c : payload_b64) {
    // Full decoding waits until the signature holds; the alphabet check keeps error kinds
    // consistent for tokens that are both garbled and unsigned.
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) {
      return R::failure(JwtError::kMalformed, kNotCompact);
    }
  }
  if (signature_b64.empty()) return R::failure(JwtError::kBadSignature, kNoSig);
  std::string signature;
  if (!base64url_decode_into(signature_b64, signature)) {
    return R::failure(JwtError::kMalformed, kNotCompact);
  }

  // Key selection. Only configured keys are candidates; the token can name one by kid.
  const JwtKey* verified_by = nullptr;
  bool kid_matched = false;
  bool alg_allowed = false;
  if (has_kid) {
    for (const auto& key : keys.keys()) {
      if (key.kid() != kid) continue;
      kid_matched = true;
      if (!key.allows(*alg)) continue;
      alg_allowed = true;
      if (key.verify(*alg, signing_input, signature)) {
        verified_by = &key;
        break;
      }
    }
  }
  if (verified_by == nullptr && !kid_matched) {
    // Keys configured without a kid (JWT_SECRET_KEY, a PEM file) accept any kid.
    for (const auto& key : keys.keys()) {
      if (!key.kid().empty() || !key.allows(*alg)) continue;
      alg_allowed = true;
      if (key.verify(*alg, signing_input, signature)) {
        verified_by = &key;
        break;
      }
    }
    if (!has_kid && verified_by == nullptr) {
      for (const auto& key : keys.keys()) {
        if (key.kid().empty() || !key.allows(*alg)) continue;
        alg_allowed = true;
        if (key.verify(*alg, signing_input, signature)) {
          verified_by = &key;
          break;
        }
      }
    }
  }
  if (verified_by == nullptr) {
    if (has_kid && !kid_matched) return R::failure(JwtError::kUnknownKid, kUnknownKidMsg);
    if (!alg_allowed) return R::failure(JwtError::kUnsupportedAlg, kBadAlg);
    return R::failure(JwtError::kBadSignature, kBadSig);
  }

  // Claims, now that they are authentic.
  if (!base64url_decode_into(payload_b64, buf)) return R::failure(JwtError::kMalformed, kBadClaims);
  const json claims = parse_object(buf);
  if (!claims.is_object()) return R::failure(JwtError::kMalformed, kBadClaims);

  for (const auto& name : options_.required_claims) {
    if (!claims.contains(name)) return R::failure(JwtError::kMissingClaim, kMissing);
  }

  using std::chrono::duration;
  const double now_s = duration<double>(now.time_since_epoch()).count();
  const double leeway = static_cast<double>(options_.leeway.count());
  auto numeric_date = [&](const char* name, std::optional<double>& out) {
    const json* v = member(claims, name);
    if (v == nullptr) return true;
    if (!v->is_number()) return false;
    double d = v->get<double>();
    if (!std::isfinite(d)) return false;
    out = std::clamp(d, -kMaxSeconds, kMaxSeconds);
    return true;
  };
  std::optional<double> exp, nbf, iat;
  if (!numeric_date("exp", exp) || !numeric_date("nbf", nbf) || !numeric_date("iat", iat)) {
    return R::failure(JwtError::kMalformed, kBadClaims);
  }
  if (exp && *exp + leeway <= now_s) return R::failure(JwtError::kExpired, kExpiredMsg);
  if (nbf && *nbf > now_s + leeway) return R::failure(JwtError::kNotYetValid, kNotYet);
  if (iat && *iat > now_s + leeway) return R::failure(JwtError::kNotYetValid, kIssuedLater);

  std::string issuer;
  if (const json* iss = member(claims, "iss")) {
    if (!iss->is_string()) return R::failure(JwtError::kMalformed, kBadClaims);
    issuer = iss->get<std::string>();
  }
  if (!options_.issuers.empty()) {
    if (member(claims, "iss") == nullptr) return R::failure(JwtError::kMissingClaim, kMissing);
    if (std::find(options_.issuers.begin(), options_.issuers.end(), issuer) ==
        options_.issuers.end()) {
      return R::failure(JwtError::kBadIssuer, kIssuer);
    }
  }

  if (const json* aud = member(claims, "aud")) {
    std::vector<std::string> auds;
    if (!append_strings(*aud, auds, false)) return R::failure(JwtError::kMalformed, kBadClaims);
    if (options_.audiences.empty()) {
      if (options_.reject_unexpected_audience) return R::failure(JwtError::kBadAudience, kAudience);
    } else {
      bool match = std::any_of(auds.begin(), auds.end(), [&](const std::string& a) {
        return std::find(options_.audiences.begin(), options_.audiences.end(), a) !=
               options_.audiences.end();
      });
      if (!match) return R::failure(JwtError::kBadAudience, kAudience);
    }
  } else if (!options_.audiences.empty()) {
    return R::failure(JwtError::kMissingClaim, kMissing);
  }

  Principal p;
  p.auth_method = AuthMethod::kJwt;
  p.issuer = std::move(issuer);
  p.key_id = verified_by->kid().empty() ? std::string(kid) : verified_by->kid();
  if (const json* sub = member(claims, "sub")) {
    if (!sub->is_string()) return R::failure(JwtError::kMalformed, kBadClaims);
    p.subject = sub->get<std::string>();
  } else if (const json* uid = member(claims, "user_id")) {
    if (uid->is_string()) {
      p.subject = uid->get<std::string>();
    } else if (uid->is_number_integer()) {
      p.subject = uid->dump();
    } else {
      return R::failure(JwtError::kMalformed, kBadClaims);
    }
  }
  if (const json* tenant = member(claims, "tenant_id"); tenant && tenant->is_string()) {
    p.tenant_id = tenant->get<std::string>();
  }
  if (const json* v = member(claims, "roles"); v && !append_strings(*v, p.roles, false)) {
    return R::failure(JwtError::kMalformed, kBadClaims);
  }
  if (const json* v = member(claims, "permissions");
      v && !append_strings(*v, p.permissions, false)) {
    return R::failure(JwtError::kMalformed, kBadClaims);
  }
  for (const char* name : {"scope", "scp"}) {
    if (const json* v = member(claims, name); v && !append_strings(*v, p.scopes, true)) {
      return R::failure(JwtError::kMalformed, kBadClaims);
    }
  }
  if (exp) {
    p.expires_at = SystemTime(
        std::chrono::duration_cast<SystemTime::duration>(duration<double>(std::floor(*exp))));
  }
  return R::success(std::move(p));
} catch (...) {
  // Only allocation failure can get here; the token is refused rather than let through.
  return JwtResult::failure(JwtError::kMalformed, kInternal);
}

}  // namespace gatewayd::auth
