#include "observability/trace_context.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "observability/fast_random.hpp"

namespace gatewayd::tracing {

namespace {

constexpr char kHex[] = "0123456789abcdef";

int lower_hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <std::size_t N>
bool decode_hex(std::string_view hex, std::array<std::uint8_t, N>& out) noexcept {
  if (hex.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = lower_hex_value(hex[2 * i]);
    const int lo = lower_hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

template <std::size_t N>
void encode_hex(const std::array<std::uint8_t, N>& bytes, char* out) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0x0F];
  }
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_key_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
         c == '/' || c == '@';
}

// key = (lcalpha / DIGIT) 0*255(keychar); at most one '@' separating tenant and system.
bool valid_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > 256) return false;
  const char first = key.front();
  if (!((first >= 'a' && first <= 'z') || (first >= '0' && first <= '9'))) return false;
  if (!std::all_of(key.begin(), key.end(), is_key_char)) return false;
  const auto at = key.find('@');
  if (at == std::string_view::npos) return true;
  if (key.find('@', at + 1) != std::string_view::npos) return false;
  const auto system = key.substr(at + 1);
  return !system.empty() && system.size() <= 14 && system.front() >= 'a' && system.front() <= 'z';
}

// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr excludes ',' and '='.
bool valid_value(std::string_view value) noexcept {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7E && c != ',' && c != '='; });
}

}  // namespace

// ---------------------------------------------------------------------------------------------

bool TraceId::valid() const noexcept {
  return !all_zero(bytes);
}
void TraceId::write_hex(char* out) const noexcept {
  encode_hex(bytes, out);
}
std::string TraceId::hex() const {
  std::string s(32, '0');
  write_hex(s.data());
  return s;
}
std::optional<TraceId> TraceId::from_hex(std::string_view hex) noexcept {
  TraceId id;
  if (!decode_hex(hex, id.bytes)) return std::nullopt;
  return id;
}

bool SpanId::valid() const noexcept {
  return !all_zero(bytes);
}
void SpanId::write_hex(char* out) const noexcept {
  encode_hex(bytes, out);
}
std::string SpanId::hex() const {
  std::string s(16, '0');
  write_hex(s.data());
  return s;
}
std::optional<SpanId> SpanId::from_hex(std::string_view hex) noexcept {
  SpanId id;
  if (!decode_hex(hex, id.bytes)) return std::nullopt;
  return id;
}

TraceId random_trace_id() noexcept {
  TraceId id;
  do {
    random_bytes(id.bytes.data(), id.bytes.size());
  } while (!id.valid());
  return id;
}

SpanId random_span_id() noexcept {
  SpanId id;
  do {
    random_bytes(id.bytes.data(), id.bytes.size());
  } while (!id.valid());
  return id;
}

// ---------------------------------------------------------------------------------------------

std::optional<Traceparent> parse_traceparent(std::string_view header) noexcept {
  header = trim_ows(header);
  if (header.size() < kTraceparentLength) return std::nullopt;
  Traceparent tp;
  std::array<std::uint8_t, 1> one{};
  if (header[2] != '-' || !decode_hex(header.substr(0, 2), one)) return std::nullopt;
  tp.version = one[0];
  if (tp.version == 0xFF) return std::nullopt;
  if (tp.version == 0x00 && header.size() != kTraceparentLength) return std::nullopt;
  // A later version may append fields, always after a '-'.
  if (header.size() > kTraceparentLength && header[kTraceparentLength] != '-') {
    return std::nullopt;
  }
  if (header[35] != '-' || header[52] != '-') return std::nullopt;
  if (!decode_hex(header.substr(3, 32), tp.trace_id.bytes) ||
      !decode_hex(header.substr(36, 16), tp.parent_id.bytes) ||
      !decode_hex(header.substr(53, 2), one)) {
    return std::nullopt;
  }
  tp.flags = one[0];
  if (!tp.trace_id.valid() || !tp.parent_id.valid()) return std::nullopt;
  return tp;
}

std::string normalize_tracestate(std::string_view header) {
  if (header.size() > kMaxTracestateInput) return {};
  struct Member {
    std::string_view key, value;
  };
  std::vector<Member> members;
  std::size_t pos = 0;
  while (pos <= header.size()) {
    auto comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    const auto member = trim_ows(header.substr(pos, comma - pos));
    pos = comma + 1;
    if (member.empty()) continue;
    const auto eq = member.find('=');
    if (eq == std::string_view::npos) return {};
    const Member m{member.substr(0, eq), member.substr(eq + 1)};
    if (!valid_key(m.key) || !valid_value(m.value)) return {};
    for (const auto& other : members) {
      if (other.key == m.key) return {};
    }
    if (members.size() == kMaxTracestateMembers) return {};
    members.push_back(m);
  }

  const auto joined_length = [&] {
    std::size_t n = 0;
    for (const auto& m : members) n += m.key.size() + 1 + m.value.size();
    return members.empty() ? 0 : n + members.size() - 1;
  };
  if (joined_length() > kMaxTracestateLength) {
    std::erase_if(members, [](const Member& m) { return m.key.size() + 1 + m.value.size() > 128; });
    while (!members.empty() && joined_length() > kMaxTracestateLength) members.pop_back();
  }

  std::string out;
  out.reserve(joined_length());
  for (const auto& m : members) {
    if (!out.empty()) out += ',';
    out += m.key;
    out += '=';
    out += m.value;
  }
  return out;
}

void write_traceparent(char* out, const TraceId& trace_id, const SpanId& span_id,
                       bool sampled) noexcept {
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  trace_id.write_hex(out + 3);
  out[35] = '-';
  span_id.write_hex(out + 36);
  out[52] = '-';
  out[53] = '0';
  out[54] = sampled ? '1' : '0';
}

// ---------------------------------------------------------------------------------------------

Sampler::Sampler(double root_ratio) noexcept
    : ratio_(std::isnan(root_ratio) ? 0.0 : std::clamp(root_ratio, 0.0, 1.0)) {
  threshold_ =
      ratio_ >= 1.0 ? (std::uint64_t{1} << 56) : static_cast<std::uint64_t>(std::ldexp(ratio_, 56));
}

bool Sampler::sample_root(const TraceId& trace_id) const noexcept {
  // The rightmost seven bytes are the random part W3C level 2 asks generators to provide.
  std::uint64_t low = 0;
  for (std::size_t i = 9; i < 16; ++i) low = (low << 8) | trace_id.bytes[i];
  return low < threshold_;
}

// ---------------------------------------------------------------------------------------------

TraceContext TraceContext::child() const {
  TraceContext c;
  c.trace_id = trace_id;
  c.span_id = random_span_id();
  c.parent_span_id = span_id;
  c.sampled = sampled;
  c.remote_parent = false;
  c.tracestate = tracestate;
  return c;
}

void TraceContext::write_traceparent(char* out) const noexcept {
  tracing::write_traceparent(out, trace_id, span_id, sampled);
}

std::string TraceContext::traceparent() const {
  std::string s(kTraceparentLength, '0');
  write_traceparent(s.data());
  return s;
}

TraceContext start_trace(std::string_view traceparent, std::string_view tracestate,
                         const Sampler& sampler) {
  TraceContext ctx;
  ctx.span_id = random_span_id();
  if (const auto incoming = parse_traceparent(traceparent)) {
    ctx.trace_id = incoming->trace_id;
    ctx.parent_span_id = incoming->parent_id;
    ctx.sampled = incoming->sampled();
    ctx.remote_parent = true;
    if (!tracestate.empty()) ctx.tracestate = normalize_tracestate(tracestate);
  } else {
    ctx.trace_id = random_trace_id();
    ctx.sampled = sampler.sample_root(ctx.trace_id);
  }
  return ctx;
}

}  // namespace gatewayd::tracing
