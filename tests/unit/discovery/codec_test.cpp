// Parsing and building of the Consul, Nacos and etcd API shapes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery/consul_codec.hpp"
#include "discovery/etcd_codec.hpp"
#include "discovery/nacos_codec.hpp"

namespace gatewayd::discovery {
namespace {

using nlohmann::json;

// ------------------------------------------------------------------------------------ Consul

constexpr const char* kConsulHealth = R"([
  {"Node": {"ID": "40e4a748-2192-161a-0510-9bf59fe950b5", "Node": "foobar",
            "Address": "10.1.10.12", "Datacenter": "dc1",
            "TaggedAddresses": {"lan": "10.1.10.12", "wan": "10.1.10.12"}, "Meta": {}},
   "Service": {"ID": "redis", "Service": "redis", "Tags": ["primary", "v1"], "Address": "",
               "Meta": {"zone": "eu-1a", "scheme": "https"}, "Port": 8000,
               "Weights": {"Passing": 10, "Warning": 1}},
   "Checks": [{"Node": "foobar", "CheckID": "serfHealth", "Status": "passing"},
              {"Node": "foobar", "CheckID": "service:redis", "Status": "passing"}]},
  {"Node": {"Node": "n2", "Address": "10.1.10.13"},
   "Service": {"ID": "redis-2", "Service": "redis", "Address": "192.168.0.5", "Port": 8001},
   "Checks": [{"CheckID": "service:redis-2", "Status": "warning"}]},
  {"Node": {"Node": "n3", "Address": ""},
   "Service": {"ID": "broken", "Service": "redis", "Address": "", "Port": 8002}},
  {"Node": {"Node": "n4", "Address": "10.0.0.4"},
   "Service": {"ID": "noport", "Service": "redis", "Address": "10.0.0.4"}}
])";

TEST(ConsulCodec, ParsesHealthEntries) {
  std::string error;
  const auto endpoints = parse_consul_health(kConsulHealth, &error);
  ASSERT_TRUE(endpoints) << error;
  ASSERT_EQ(endpoints->size(), 2u);
  const auto& a = (*endpoints)[0];
  EXPECT_EQ(a.address, "10.1.10.12") << "empty Service.Address falls back to Node.Address";
  EXPECT_EQ(a.port, 8000);
  EXPECT_EQ(a.weight, 10u);
  EXPECT_TRUE(a.healthy);
  EXPECT_EQ(a.zone, "eu-1a");
  EXPECT_EQ(a.scheme, "https");
  EXPECT_EQ(a.metadata.at("tags"), "primary,v1");
  EXPECT_EQ(a.instance_id, "redis");
  EXPECT_EQ(a.id, "10.1.10.12:8000");
  const auto& b = (*endpoints)[1];
  EXPECT_EQ(b.address, "192.168.0.5");
  EXPECT_EQ(b.weight, 1u) << "no Weights means 1";
  EXPECT_FALSE(b.healthy) << "a warning check is not passing";
  EXPECT_EQ(b.scheme, "http");
}

TEST(ConsulCodec, EmptyNullAndMalformedBodies) {
  EXPECT_TRUE(parse_consul_health("[]")->empty());
  EXPECT_TRUE(parse_consul_health("null")->empty());
  std::string error;
  EXPECT_FALSE(parse_consul_health("{\"a\":1}", &error));
  EXPECT_NE(error.find("not an array"), std::string::npos);
  EXPECT_FALSE(parse_consul_health("<html>", &error));
}

TEST(ConsulCodec, BlockingIndexRules) {
  EXPECT_EQ(next_consul_index(0, "42"), 42u);
  EXPECT_EQ(next_consul_index(42, "42"), 42u) << "a timeout without change keeps the index";
  EXPECT_EQ(next_consul_index(42, "57"), 57u);
  EXPECT_EQ(next_consul_index(57, "12"), 0u) << "backwards resets";
  EXPECT_EQ(next_consul_index(57, "0"), 0u) << "0 resets";
  EXPECT_EQ(next_consul_index(57, ""), 0u);
  EXPECT_EQ(next_consul_index(57, "abc"), 0u);
}

TEST(ConsulCodec, HealthTarget) {
  EXPECT_EQ(consul_health_target("web", "", 0, std::chrono::seconds(60)),
            "/v1/health/service/web?passing=true");
  EXPECT_EQ(consul_health_target("my svc", "dc2", 17, std::chrono::seconds(60)),
            "/v1/health/service/my%20svc?passing=true&dc=dc2&index=17&wait=60s");
  EXPECT_EQ(consul_duration(std::chrono::milliseconds(1500)), "1500ms");
}

TEST(ConsulCodec, RegistrationBody) {
  RegistrationOptions reg;
  reg.service_name = "gatewayd";
  reg.instance_id = "gatewayd-node1-8001";
  reg.address = "10.0.0.9";
  reg.port = 8001;
  reg.metadata = {{"version", "1"}};
  const json body = json::parse(consul_registration_body(reg));
  EXPECT_EQ(body["ID"], "gatewayd-node1-8001");
  EXPECT_EQ(body["Name"], "gatewayd");
  EXPECT_EQ(body["Address"], "10.0.0.9");
  EXPECT_EQ(body["Port"], 8001);
  EXPECT_EQ(body["Meta"]["version"], "1");
  EXPECT_EQ(body["Check"]["HTTP"], "http://10.0.0.9:8001/health");
  EXPECT_EQ(body["Check"]["Interval"], "10s");
  EXPECT_EQ(body["Check"]["DeregisterCriticalServiceAfter"], "60s");
}

// ------------------------------------------------------------------------------------- Nacos

constexpr const char* kNacosV1 = R"({
  "name": "DEFAULT_GROUP@@orders", "groupName": "DEFAULT_GROUP", "clusters": "",
  "cacheMillis": 3000, "lastRefTime": 1700000000000, "checksum": "", "allIPs": false,
  "reachProtectionThreshold": true, "valid": true,
  "hosts": [
    {"instanceId": "10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders", "ip": "10.0.0.1", "port": 8080,
     "weight": 2.0, "healthy": true, "enabled": true, "ephemeral": true, "clusterName": "DEFAULT",
     "serviceName": "DEFAULT_GROUP@@orders", "metadata": {"zone": "z1", "secure": "true"}},
    {"ip": "10.0.0.2", "port": 8080, "weight": 1.0, "healthy": false, "enabled": true},
    {"ip": "10.0.0.3", "port": 8080, "weight": 1.0, "healthy": true, "enabled": false},
    {"ip": "10.0.0.4", "port": 8080, "weight": 0.0, "healthy": true, "enabled": true},
    {"ip": "10.0.0.5", "port": 8080, "weight": 0.4, "healthy": true, "enabled": true},
    {"ip": "", "port": 8080}
  ]})";

TEST(NacosCodec, ParsesV1List) {
  std::string error;
  const auto list = parse_nacos_instances(kNacosV1, 1, &error);
  ASSERT_TRUE(list) << error;
  EXPECT_EQ(list->cache_millis, std::chrono::milliseconds(3000));
  ASSERT_EQ(list->endpoints.size(), 4u) << "disabled and address-less hosts are skipped";
  const auto& a = list->endpoints[0];
  EXPECT_EQ(a.id, "10.0.0.1:8080");
  EXPECT_EQ(a.weight, 2u);
  EXPECT_EQ(a.zone, "z1");
  EXPECT_EQ(a.scheme, "https");
  EXPECT_EQ(a.metadata.at("cluster"), "DEFAULT");
  EXPECT_EQ(a.instance_id, "10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders");
  EXPECT_FALSE(list->endpoints[1].healthy) << "unhealthy hosts are kept, marked";
  EXPECT_EQ(list->endpoints[2].weight, 0u) << "weight 0 drains";
  EXPECT_FALSE(list->endpoints[2].pickable());
  EXPECT_EQ(list->endpoints[3].weight, 1u) << "a small positive weight still gets traffic";
}

TEST(NacosCodec, ParsesV2Envelope) {
  const json v1 = json::parse(kNacosV1);
  const json v2 = {{"code", 0}, {"message", "success"}, {"data", v1}};
  const auto list = parse_nacos_instances(v2.dump(), 2);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->endpoints.size(), 4u);

  std::string error;
  EXPECT_FALSE(parse_nacos_instances(R"({"code":21008,"message":"service not exist","data":null})",
                                     2, &error));
  EXPECT_NE(error.find("21008"), std::string::npos);
  EXPECT_FALSE(parse_nacos_instances(v1.dump(), 2, &error)) << "v2 needs the envelope";
  EXPECT_FALSE(parse_nacos_instances("[]", 1, &error));
  EXPECT_FALSE(parse_nacos_instances(R"({"cacheMillis":1})", 1, &error));
}

TEST(NacosCodec, LoginAndBeat) {
  const auto login =
      parse_nacos_login(R"({"accessToken":"eyJhbGci","tokenTtl":18000,"globalAdmin":false})");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->access_token, "eyJhbGci");
  EXPECT_EQ(login->ttl, std::chrono::seconds(18000));
  EXPECT_FALSE(parse_nacos_login("unknown user!"));
  EXPECT_FALSE(parse_nacos_login(R"({"tokenTtl":5})"));

  auto beat =
      parse_nacos_beat(R"({"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true})");
  ASSERT_TRUE(beat);
  EXPECT_EQ(beat->client_beat_interval, std::chrono::milliseconds(5000));
  EXPECT_FALSE(beat->instance_missing);
  beat = parse_nacos_beat(R"({"clientBeatInterval":5000,"code":20404})");
  ASSERT_TRUE(beat);
  EXPECT_TRUE(beat->instance_missing);
  beat = parse_nacos_beat("ok");
  ASSERT_TRUE(beat);
  EXPECT_EQ(beat->client_beat_interval.count(), 0);
}

TEST(NacosCodec, ListTargets) {
  NacosOptions o;
  o.namespace_id = "dev";
  o.group = "G";
  o.clusters = "c1,c2";
  EXPECT_EQ(nacos_list_target(o, "orders", ""),
            "/nacos/v1/ns/instance/list?serviceName=orders&namespaceId=dev&groupName=G&"
            "clusters=c1%2Cc2&healthyOnly=false");
  o.api_version = 2;
  o.clusters.clear();
  EXPECT_EQ(nacos_list_target(o, "orders", "t/k"),
            "/nacos/v2/ns/instance/list?serviceName=orders&namespaceId=dev&groupName=G&"
            "healthyOnly=false&accessToken=t%2Fk");
}

// -------------------------------------------------------------------------------------- etcd

TEST(EtcdCodec, Base64RoundTrip) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba",
                                                       "foobar", std::string("\0\xff\x10", 3)}) {
    const auto decoded = base64_decode(base64_encode(s));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(base64_decode("Zm9v!"));
  EXPECT_FALSE(base64_decode("Z"));
}

TEST(EtcdCodec, PrefixRangeEnd) {
  EXPECT_EQ(prefix_range_end("/svc/a/"), "/svc/a0");
  EXPECT_EQ(prefix_range_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_range_end(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

TEST(EtcdCodec, RangeAnswer) {
  const json answer = {
      {"header", {{"cluster_id", "14841639068965178418"}, {"revision", "12"}, {"raft_term", "2"}}},
      {"kvs",
       {{{"key", base64_encode("/p/orders/a")},
         {"create_revision", "5"},
         {"mod_revision", "9"},
         {"version", "2"},
         {"value", base64_encode(R"({"url":"http://10.0.0.1:80"})")}}}},
      {"count", "1"}};
  const auto range = parse_etcd_range(answer.dump());
  ASSERT_TRUE(range);
  EXPECT_EQ(range->revision, 12);
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(range->kvs[0].key, "/p/orders/a");
  EXPECT_EQ(range->kvs[0].mod_revision, 9);

  // No keys: etcd leaves kvs and count out.
  const auto empty = parse_etcd_range(R"({"header":{"revision":"3"}})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->kvs.empty());
  EXPECT_FALSE(parse_etcd_range(R"({"kvs":[]})"));
}

TEST(EtcdCodec, WatchLines) {
  auto m = parse_etcd_watch_line(R"({"result":{"header":{"revision":"7"},"created":true}})");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->created);
  EXPECT_EQ(m->revision, 7);

  const json events = {{"result",
                        {{"header", {{"revision", "9"}}},
                         {"events",
                          {{{"kv",
                             {{"key", base64_encode("/p/s/a")},
                              {"mod_revision", "8"},
                              {"value", base64_encode("{}")}}}},
                           {{"type", "DELETE"},
                            {"kv", {{"key", base64_encode("/p/s/b")}, {"mod_revision", "9"}}}}}}}}};
  m = parse_etcd_watch_line(events.dump());
  ASSERT_TRUE(m);
  ASSERT_EQ(m->events.size(), 2u);
  EXPECT_FALSE(m->events[0].deleted) << "PUT is the default type and is left out";
  EXPECT_EQ(m->events[0].kv.value, "{}");
  EXPECT_TRUE(m->events[1].deleted);
  EXPECT_EQ(m->events[1].kv.mod_revision, 9);

  m = parse_etcd_watch_line(
      R"({"result":{"header":{"revision":"20"},"compact_revision":"15","canceled":true}})");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->canceled);
  EXPECT_EQ(m->compact_revision, 15);

  m = parse_etcd_watch_line(
      R"({"error":{"grpc_code":14,"http_code":503,"message":"unavailable"}})");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->error, "unavailable");
  EXPECT_FALSE(parse_etcd_watch_line("garbage"));
}

TEST(EtcdCodec, InstanceValues) {
  auto e = parse_etcd_instance(
      "/p/s/i1", R"({"url":"http://10.0.0.1:8080","weight":3,"healthy":false,"zone":"z",
                   "metadata":{"v":"2","n":1}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, "10.0.0.1:8080");
  EXPECT_EQ(e->weight, 3u);
  EXPECT_FALSE(e->healthy);
  EXPECT_EQ(e->zone, "z");
  EXPECT_EQ(e->metadata.at("v"), "2");
  EXPECT_EQ(e->metadata.at("n"), "1");
  EXPECT_EQ(e->instance_id, "/p/s/i1");
  e = parse_etcd_instance("k", R"({"url":"http://h:1","weight":0})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->weight, 0u);
  EXPECT_FALSE(parse_etcd_instance("k", R"({"weight":1})"));
  EXPECT_FALSE(parse_etcd_instance("k", R"({"url":"nope://x"})"));
  EXPECT_FALSE(parse_etcd_instance("k", R"({"url":"http://h:1","healthy":"yes"})"));
  EXPECT_FALSE(parse_etcd_instance("k", "not json"));
}

TEST(EtcdCodec, WatchBodyStartsAtRevision) {
  const json body = json::parse(etcd_watch_body("/p/s/", 13));
  EXPECT_EQ(body["create_request"]["start_revision"], "13");
  EXPECT_EQ(body["create_request"]["key"], base64_encode("/p/s/"));
  EXPECT_EQ(body["create_request"]["range_end"], base64_encode("/p/s0"));
}

}  // namespace
}  // namespace gatewayd::discovery
