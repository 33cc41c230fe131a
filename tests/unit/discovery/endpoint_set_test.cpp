#include "discovery/endpoint_set.hpp"

#include <gtest/gtest.h>

namespace gatewayd::discovery {
namespace {

DiscoveredEndpoint ep(std::string host, std::uint16_t port, std::uint32_t weight = 1,
                      bool healthy = true) {
  DiscoveredEndpoint e;
  e.address = std::move(host);
  e.port = port;
  e.weight = weight;
  e.healthy = healthy;
  e.assign_id();
  return e;
}

TEST(EndpointFromUrl, ParsesSchemesPortsAndIpv6) {
  auto e = endpoint_from_url("http://10.0.0.1:8080/ignored/path");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->scheme, "http");
  EXPECT_EQ(e->address, "10.0.0.1");
  EXPECT_EQ(e->port, 8080);
  EXPECT_EQ(e->id, "10.0.0.1:8080");
  EXPECT_EQ(e->url(), "http://10.0.0.1:8080");

  e = endpoint_from_url("HTTPS://api.internal");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->scheme, "https");
  EXPECT_EQ(e->port, 443);

  e = endpoint_from_url("[::1]:9000");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->address, "::1");
  EXPECT_EQ(e->id, "[::1]:9000");

  EXPECT_FALSE(endpoint_from_url("ftp://x:1"));
  EXPECT_FALSE(endpoint_from_url("http://:80"));
  EXPECT_FALSE(endpoint_from_url("http://host:0"));
  EXPECT_FALSE(endpoint_from_url("http://host:70000"));
  EXPECT_FALSE(endpoint_from_url("http://host:"));
  EXPECT_FALSE(endpoint_from_url("http://user@host:80"));
}

TEST(EndpointSet, SortsByIdAndDropsDuplicates) {
  EndpointSet set("svc", "consul",
                  {ep("10.0.0.2", 80), ep("10.0.0.1", 80, 5), ep("10.0.0.1", 80, 9)});
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set.endpoints()[0].id, "10.0.0.1:80");
  EXPECT_EQ(set.endpoints()[0].weight, 5u) << "the first listing of an id wins";
  EXPECT_EQ(set.endpoints()[1].id, "10.0.0.2:80");
  ASSERT_NE(set.find("10.0.0.2:80"), nullptr);
  EXPECT_EQ(set.find("10.0.0.3:80"), nullptr);
}

TEST(EndpointSet, PickableExcludesUnhealthyAndDraining) {
  EndpointSet set("svc", "nacos", {ep("a", 1), ep("b", 1, 0), ep("c", 1, 3, false)});
  EXPECT_EQ(set.pickable_count(), 1u);
}

TEST(EndpointSet, SameEndpointsIgnoresSource) {
  EndpointSet a("svc", "consul", {ep("a", 1)});
  EndpointSet b("svc", "static-fallback", {ep("a", 1)});
  EndpointSet c("svc", "consul", {ep("a", 1, 2)});
  EXPECT_TRUE(a.same_endpoints(b));
  EXPECT_FALSE(a.same_endpoints(c));
}

TEST(EndpointSet, ToInstancesTakesDrainingOutOfRotation) {
  EndpointSet set("svc", "nacos", {ep("a", 1, 0), ep("b", 2, 4)});
  const auto instances = to_instances(set);
  ASSERT_EQ(instances.size(), 2u);
  EXPECT_EQ(instances[0].id, "a:1");
  EXPECT_FALSE(instances[0].healthy);
  EXPECT_EQ(instances[0].weight, 1u);
  EXPECT_EQ(instances[0].url, "http://a:1");
  EXPECT_TRUE(instances[1].healthy);
  EXPECT_EQ(instances[1].weight, 4u);
  EXPECT_EQ(instances[1].host, "b");
  EXPECT_EQ(instances[1].port, 2);
}

TEST(EndpointSet, FromConfigAndBack) {
  ServiceConfig service;
  service.name = "orders";
  InstanceConfig i;
  i.url = "http://127.0.0.1:8002";
  i.scheme = "http";
  i.host = "127.0.0.1";
  i.port = 8002;
  i.weight = 3;
  i.healthy = false;
  i.id = "127.0.0.1:8002";
  service.instances.push_back(i);
  const auto set = endpoint_set_from_config(service);
  EXPECT_EQ(set->service(), "orders");
  EXPECT_EQ(set->source(), "static");
  ASSERT_EQ(set->size(), 1u);
  EXPECT_EQ(set->endpoints()[0].weight, 3u);
  EXPECT_FALSE(set->endpoints()[0].healthy);
  const auto back = with_endpoints(service, *set);
  ASSERT_EQ(back.instances.size(), 1u);
  EXPECT_EQ(back.instances[0].url, i.url);
  EXPECT_EQ(back.instances[0].weight, 3u);
  EXPECT_FALSE(back.instances[0].healthy);
}

TEST(EndpointSet, RemovedIds) {
  EndpointSet before("svc", "x", {ep("a", 1), ep("b", 1), ep("c", 1)});
  EndpointSet after("svc", "x", {ep("b", 1), ep("d", 1)});
  EXPECT_EQ(removed_ids(&before, &after), (std::vector<std::string>{"a:1", "c:1"}));
  EXPECT_EQ(removed_ids(&before, nullptr).size(), 3u);
  EXPECT_TRUE(removed_ids(nullptr, &after).empty());
}

}  // namespace
}  // namespace gatewayd::discovery
