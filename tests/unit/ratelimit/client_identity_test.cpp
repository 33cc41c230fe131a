#include "filters/rate_limit/client_identity.hpp"

#include <gtest/gtest.h>

namespace gatewayd::ratelimit {
namespace {

namespace ip = boost::asio::ip;

std::vector<Cidr> cidrs(std::initializer_list<const char*> list) {
  std::vector<Cidr> out;
  for (const char* c : list) out.push_back(*Cidr::parse(c));
  return out;
}

const auto kTrusted = cidrs({"10.0.0.0/8", "fd00::/8"});

TEST(ClientIp, SpoofedForwardedForFromAnUntrustedPeerIsIgnored) {
  const auto peer = ip::make_address("203.0.113.7");
  EXPECT_EQ(resolve_client_ip(peer, "1.2.3.4", kTrusted), "203.0.113.7");
  EXPECT_EQ(resolve_client_ip(peer, "10.0.0.1, 1.2.3.4", kTrusted), "203.0.113.7");
  EXPECT_EQ(resolve_client_ip(peer, "", {}), "203.0.113.7");
}

TEST(ClientIp, TrustedProxyChainIsWalkedFromTheRight) {
  const auto proxy = ip::make_address("10.0.0.5");
  // The client claims to be 9.9.9.9; the edge proxy appended the address it really saw.
  EXPECT_EQ(resolve_client_ip(proxy, "9.9.9.9, 198.51.100.20", kTrusted), "198.51.100.20");
  // Two proxies of ours in front: skip both.
  EXPECT_EQ(resolve_client_ip(proxy, "9.9.9.9, 198.51.100.20, 10.1.1.1", kTrusted),
            "198.51.100.20");
  // Separate header fields joined with ',' and odd spacing.
  EXPECT_EQ(resolve_client_ip(proxy, " 198.51.100.20 ,10.2.2.2,", kTrusted), "198.51.100.20");
}

TEST(ClientIp, WithEveryHopTrustedTheLeftMostWins) {
  const auto proxy = ip::make_address("10.0.0.5");
  EXPECT_EQ(resolve_client_ip(proxy, "10.9.9.9, 10.1.1.1", kTrusted), "10.9.9.9");
}

TEST(ClientIp, GarbageStopsAtTheTrustedHopThatReportedIt) {
  const auto proxy = ip::make_address("10.0.0.5");
  EXPECT_EQ(resolve_client_ip(proxy, "1.2.3.4, not-an-ip", kTrusted), "10.0.0.5");
  EXPECT_EQ(resolve_client_ip(proxy, "unknown, 10.7.7.7", kTrusted), "10.7.7.7");
}

TEST(ClientIp, Ipv6PortsAndMappedAddresses) {
  const auto proxy6 = ip::make_address("fd00::1");
  EXPECT_EQ(resolve_client_ip(proxy6, "2001:db8::42", kTrusted), "2001:db8::42");
  EXPECT_EQ(resolve_client_ip(proxy6, "[2001:db8::42]:443", kTrusted), "2001:db8::42");
  EXPECT_EQ(resolve_client_ip(proxy6, "198.51.100.20:5555", kTrusted), "198.51.100.20");
  // An IPv4 peer seen on a dual-stack socket is reported as IPv4 and matches IPv4 ranges.
  const auto mapped = ip::make_address("::ffff:10.0.0.5");
  EXPECT_EQ(resolve_client_ip(mapped, "198.51.100.20", kTrusted), "198.51.100.20");
  EXPECT_EQ(resolve_client_ip(ip::make_address("::ffff:203.0.113.7"), "1.1.1.1", kTrusted),
            "203.0.113.7");
}

TEST(BucketIdentity, OnlyVerifiedIdentitiesChooseBuckets) {
  CallerIdentity anonymous;
  anonymous.client_ip = "198.51.100.20";
  anonymous.route_name = "GET /projects";
  EXPECT_EQ(bucket_identity(LimitType::kPerUser, anonymous), "ip:198.51.100.20");
  EXPECT_EQ(bucket_identity(LimitType::kPerApiKey, anonymous), "ip:198.51.100.20");
  EXPECT_EQ(bucket_identity(LimitType::kPerCaller, anonymous), "ip:198.51.100.20");
  EXPECT_EQ(bucket_identity(LimitType::kPerIp, anonymous), "ip:198.51.100.20");
  EXPECT_EQ(bucket_identity(LimitType::kPerEndpoint, anonymous), "route:GET /projects");
  EXPECT_EQ(bucket_identity(LimitType::kGlobal, anonymous), "global");

  CallerIdentity user = anonymous;
  user.subject = "alice";
  user.api_key_id = "key-7";
  EXPECT_EQ(bucket_identity(LimitType::kPerUser, user), "user:alice");
  EXPECT_EQ(bucket_identity(LimitType::kPerApiKey, user), "key:key-7");
  EXPECT_EQ(bucket_identity(LimitType::kPerCaller, user), "user:alice");
  EXPECT_EQ(bucket_identity(LimitType::kPerIp, user), "ip:198.51.100.20");

  CallerIdentity key_only = anonymous;
  key_only.api_key_id = "key-7";
  EXPECT_EQ(bucket_identity(LimitType::kPerCaller, key_only), "key:key-7");
  EXPECT_EQ(bucket_identity(LimitType::kPerUser, key_only), "ip:198.51.100.20");
}

TEST(BucketIdentity, LongIdentitiesAreDigested) {
  CallerIdentity user;
  user.subject = std::string(1000, 'x');
  const std::string id = bucket_identity(LimitType::kPerUser, user);
  EXPECT_LT(id.size(), 64u);
  EXPECT_EQ(id.rfind("user:sha1:", 0), 0u);
}

}  // namespace
}  // namespace gatewayd::ratelimit
