#include "common/cidr.hpp"

#include <charconv>
#include <string>

namespace gatewayd {

namespace ip = boost::asio::ip;

namespace {
template <std::size_t N>
bool prefix_equal(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                  unsigned prefix) noexcept {
  const unsigned full = prefix / 8;
  for (unsigned i = 0; i < full; ++i) {
    if (a[i] != b[i]) return false;
  }
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

ip::address unmap(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  }
  return a;
}
}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  boost::system::error_code ec;
  const auto addr = ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return std::nullopt;
  Cidr c;
  c.network_ = unmap(addr);
  const unsigned max = c.network_.is_v4() ? 32 : 128;
  c.prefix_ = max;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    unsigned p = 0;
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
    if (err != std::errc{} || end != digits.data() + digits.size() || digits.empty() || p > max) {
      return std::nullopt;
    }
    c.prefix_ = p;
  }
  return c;
}

bool Cidr::contains(const ip::address& address) const noexcept {
  const auto a = unmap(address);
  if (a.is_v4() != network_.is_v4()) return false;
  if (a.is_v4()) return prefix_equal(a.to_v4().to_bytes(), network_.to_v4().to_bytes(), prefix_);
  return prefix_equal(a.to_v6().to_bytes(), network_.to_v6().to_bytes(), prefix_);
}

bool cidr_list_contains(const std::vector<Cidr>& ranges, const ip::address& address) noexcept {
  for (const auto& r : ranges) {
    if (r.contains(address)) return true;
  }
  return false;
}

}  // namespace gatewayd
