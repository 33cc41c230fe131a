#include "server/header_rules.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace gatewayd {
namespace {

namespace http = boost::beast::http;

TEST(HeaderRules, StripsHopByHopAndConnectionListedFields) {
  http::fields f;
  f.set(http::field::connection, "keep-alive, X-Secret-Hop");
  f.set("Keep-Alive", "timeout=5");
  f.set("X-Secret-Hop", "1");
  f.set("TE", "trailers");
  f.set("Proxy-Connection", "keep-alive");
  f.set(http::field::upgrade, "websocket");
  f.set("X-Kept", "yes");
  strip_hop_by_hop(f);
  EXPECT_EQ(f.find(http::field::connection), f.end());
  EXPECT_EQ(f.find("Keep-Alive"), f.end());
  EXPECT_EQ(f.find("X-Secret-Hop"), f.end());
  EXPECT_EQ(f.find("TE"), f.end());
  EXPECT_EQ(f.find("Proxy-Connection"), f.end());
  EXPECT_EQ(f.find(http::field::upgrade), f.end());
  EXPECT_EQ(f["X-Kept"], "yes");
}

TEST(HeaderRules, StripsEveryListedAndRepeatedFieldWhereverItStands) {
  http::fields f;
  f.insert("x-listed-early", "1");  // before the Connection field that names it
  f.insert(http::field::connection, "close");
  f.insert("X-Kept", "a");
  f.insert(http::field::connection, "X-LISTED-EARLY,  x-listed-late ");
  f.insert("X-Listed-Late", "2");
  f.insert("x-listed-late", "3");
  f.insert(http::field::transfer_encoding, "chunked");
  f.insert(http::field::trailer, "Expires");
  f.insert("Close", "not a hop-by-hop name");
  f.insert("X-Kept", "b");
  strip_hop_by_hop(f);
  std::vector<std::string> left;
  for (const auto& field : f) {
    left.push_back(std::string(field.name_string()) + ": " + std::string(field.value()));
  }
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left,
            (std::vector<std::string>{"Close: not a hop-by-hop name", "X-Kept: a", "X-Kept: b"}));
}

TEST(HeaderRules, KeepsUpgradeForTunnels) {
  http::fields f;
  f.set(http::field::connection, "Upgrade");
  f.set(http::field::upgrade, "websocket");
  ASSERT_TRUE(is_upgrade_request(f));
  strip_hop_by_hop(f, true);
  EXPECT_EQ(f[http::field::upgrade], "websocket");
  EXPECT_TRUE(connection_has_token(f, "upgrade"));
}

TEST(HeaderRules, RemovesClientIdentityHeaders) {
  http::fields f;
  f.set("X-User-Id", "admin");
  f.set("x-roles", "root");
  f.set("X-Permissions", "*");
  f.set("X-Auth-Method", "jwt");
  strip_identity_headers(f);
  EXPECT_EQ(f.begin(), f.end());
}

TEST(HeaderRules, UntrustedPeerCannotExtendForwardedChain) {
  http::fields f;
  f.set("X-Forwarded-For", "1.2.3.4");
  f.set("X-Forwarded-Proto", "https");
  f.set(http::field::host, "api.example.com");
  set_forwarded_headers(f, {"10.0.0.9", false, "http", "rid-1"});
  EXPECT_EQ(f["X-Forwarded-For"], "10.0.0.9");
  EXPECT_EQ(f["X-Forwarded-Proto"], "http");
  EXPECT_EQ(f["X-Forwarded-Host"], "api.example.com");
  EXPECT_EQ(f["X-Request-Id"], "rid-1");
}

TEST(HeaderRules, TrustedPeerChainIsExtended) {
  http::fields f;
  f.insert("X-Forwarded-For", "1.2.3.4");
  f.insert("X-Forwarded-For", "5.6.7.8");
  f.set("X-Forwarded-Proto", "https");
  set_forwarded_headers(f, {"10.0.0.9", true, "http", "rid-2"});
  EXPECT_EQ(f["X-Forwarded-For"], "1.2.3.4, 5.6.7.8, 10.0.0.9");
  EXPECT_EQ(f["X-Forwarded-Proto"], "https");
}

TEST(HeaderRules, IdempotentMethods) {
  EXPECT_TRUE(is_idempotent_method("GET"));
  EXPECT_TRUE(is_idempotent_method("PUT"));
  EXPECT_TRUE(is_idempotent_method("DELETE"));
  EXPECT_FALSE(is_idempotent_method("POST"));
  EXPECT_FALSE(is_idempotent_method("PATCH"));
}

}  // namespace
}  // namespace gatewayd
