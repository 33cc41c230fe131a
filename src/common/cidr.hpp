#pragma once
// IPv4/IPv6 CIDR ranges (TRUSTED_PROXIES and similar allow-lists).
#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string_view>
#include <vector>

namespace gatewayd {

class Cidr {
 public:
  // "10.0.0.0/8", "::1/128", or a bare address (a /32 or /128). nullopt when malformed.
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const boost::asio::ip::address& address) const noexcept;

 private:
  boost::asio::ip::address network_;
  unsigned prefix_ = 0;
};

// True when `address` is in any of the ranges. IPv4-mapped IPv6 addresses match IPv4 ranges.
bool cidr_list_contains(const std::vector<Cidr>& ranges,
                        const boost::asio::ip::address& address) noexcept;

}  // namespace gatewayd
