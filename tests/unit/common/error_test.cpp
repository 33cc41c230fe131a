#include "gatewayd/error.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/cidr.hpp"

namespace gatewayd {
namespace {

TEST(ErrorBody, HasTheDocumentedShape) {
  const auto body =
      error_body(ErrorCode::kRateLimited, "slow \"down\"\n", "rid-7", R"({"limit":10})");
  const auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["error"]["code"], "RATE_LIMITED");
  EXPECT_EQ(j["error"]["message"], "slow \"down\"\n");
  EXPECT_EQ(j["error"]["details"]["limit"], 10);
  EXPECT_EQ(j["request_id"], "rid-7");
  EXPECT_FALSE(j.contains("trace_id")) << "no trace, no field";
}

TEST(ErrorBody, CarriesTheTraceIdWhenThereIsOne) {
  const auto j = nlohmann::json::parse(error_body(ErrorCode::kBadGateway, "down", "rid-8", "{}",
                                                  "4bf92f3577b34da6a3ce929d0e0e4736"));
  EXPECT_EQ(j["request_id"], "rid-8");
  EXPECT_EQ(j["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(j["error"]["code"], "BAD_GATEWAY");
}

TEST(ErrorBody, EscapesControlCharacters) {
  const std::string message("a\001b", 3);
  const auto j = nlohmann::json::parse(error_body("X", message, ""));
  EXPECT_EQ(j["error"]["message"], message);
  EXPECT_TRUE(j["error"]["details"].is_object());
}

TEST(ErrorCodes, MapToStatuses) {
  EXPECT_EQ(error_status(ErrorCode::kNotFound), 404u);
  EXPECT_EQ(error_status(ErrorCode::kMethodNotAllowed), 405u);
  EXPECT_EQ(error_status(ErrorCode::kPayloadTooLarge), 413u);
  EXPECT_EQ(error_status(ErrorCode::kUriTooLong), 414u);
  EXPECT_EQ(error_status(ErrorCode::kHeadersTooLarge), 431u);
  EXPECT_EQ(error_status(ErrorCode::kUpstreamTimeout), 504u);
  EXPECT_EQ(error_status(ErrorCode::kBadGateway), 502u);
  EXPECT_EQ(error_code_name(ErrorCode::kCircuitOpen), "CIRCUIT_OPEN");
  EXPECT_EQ(error_code_name(ErrorCode::kInternal), "INTERNAL");
}

TEST(Cidr, MatchesV4V6AndMappedAddresses) {
  namespace ip = boost::asio::ip;
  const auto net = Cidr::parse("10.1.0.0/16");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains(ip::make_address("10.1.200.3")));
  EXPECT_FALSE(net->contains(ip::make_address("10.2.0.1")));
  EXPECT_TRUE(net->contains(ip::make_address("::ffff:10.1.0.9")));
  const auto v6 = Cidr::parse("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(ip::make_address("fd12::1")));
  EXPECT_FALSE(v6->contains(ip::make_address("10.1.0.1")));
  EXPECT_TRUE(Cidr::parse("127.0.0.1")->contains(ip::make_address("127.0.0.1")));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("nonsense"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/"));
}

}  // namespace
}  // namespace gatewayd
