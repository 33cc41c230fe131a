// Pure parts of the Redis client: slots, command encoding, reply parsing, scripts, options.
#include <gtest/gtest.h>

#include <string>

#include "clients/redis_command.hpp"
#include "clients/redis_options.hpp"
#include "clients/redis_reader.hpp"
#include "clients/redis_reply.hpp"
#include "clients/redis_script.hpp"
#include "clients/redis_slot.hpp"
#include "gatewayd/settings.hpp"

namespace gatewayd {
namespace {

TEST(RedisSlot, Crc16MatchesTheClusterSpecificationVector) {
  EXPECT_EQ(redis_crc16("123456789"), 0x31C3);
}

TEST(RedisSlot, KnownKeySlots) {
  EXPECT_EQ(redis_key_slot("foo"), 12182);
  EXPECT_EQ(redis_key_slot("bar"), 5061);
}

TEST(RedisSlot, HashTagsFollowTheClusterRules) {
  EXPECT_EQ(redis_hash_tag("{user1000}.following"), "user1000");
  EXPECT_EQ(redis_key_slot("{user1000}.following"), redis_key_slot("{user1000}.followers"));
  EXPECT_EQ(redis_hash_tag("foo{}{bar}"), "foo{}{bar}");  // empty first tag: whole key
  EXPECT_EQ(redis_hash_tag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(redis_hash_tag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(redis_hash_tag("no-tag{"), "no-tag{");
}

TEST(RedisCommand, EncodesRespAndComputesTheSlotOfTheKey) {
  RedisCommand cmd({"GET", "foo"});
  EXPECT_EQ(cmd.encoded(), "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n");
  ASSERT_TRUE(cmd.slot().has_value());
  EXPECT_EQ(*cmd.slot(), 12182);
  EXPECT_EQ(cmd.name(), "GET");
}

TEST(RedisCommand, BinarySafeArgumentsAndKeylessCommands) {
  const std::string binary("a\0b\r\n", 5);
  RedisCommand cmd({"set", "k", binary});
  static const char kExpected[] = "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$5\r\na\0b\r\n\r\n";
  EXPECT_EQ(cmd.encoded(), std::string(kExpected, sizeof kExpected - 1));
  EXPECT_EQ(cmd.name(), "SET");
  RedisCommand ping({"PING"});
  EXPECT_FALSE(ping.slot().has_value());
  RedisCommand load({"SCRIPT", "LOAD", "return 1"}, RedisCommand::kNoKey);
  EXPECT_FALSE(load.slot().has_value());
  load.route_to_slot(42);
  EXPECT_EQ(load.slot(), 42);
  EXPECT_FALSE(RedisCommand().valid());
}

TEST(RedisReader, ParsesEveryReplyTypeAcrossPartialFeeds) {
  RedisReader reader;
  const std::string stream =
      "+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+x\r\n";
  // Byte by byte: every split point must work.
  std::vector<RedisReply> replies;
  for (const char c : stream) {
    ASSERT_TRUE(reader.feed(&c, 1));
    RedisReply r;
    while (reader.next(r) == RedisReader::Status::kReply) replies.push_back(std::move(r));
  }
  ASSERT_EQ(replies.size(), 6u);
  EXPECT_EQ(replies[0].type, RedisReplyType::kStatus);
  EXPECT_EQ(replies[0].str, "OK");
  EXPECT_TRUE(replies[1].is_error());
  EXPECT_EQ(replies[1].str, "ERR bad");
  EXPECT_EQ(replies[2].integer, 42);
  EXPECT_EQ(replies[3].str, "hello");
  EXPECT_TRUE(replies[4].is_nil());
  ASSERT_TRUE(replies[5].is_array());
  ASSERT_EQ(replies[5].elements.size(), 3u);
  EXPECT_EQ(replies[5].elements[0].integer, 1);
  ASSERT_EQ(replies[5].elements[1].elements.size(), 2u);
  EXPECT_EQ(replies[5].elements[1].elements[0].str, "a");
  EXPECT_TRUE(replies[5].elements[1].elements[1].is_nil());
  EXPECT_EQ(replies[5].elements[2].str, "x");
}

TEST(RedisReader, RejectsGarbageAndOversizedArrays) {
  RedisReader reader;
  ASSERT_TRUE(reader.feed("?what\r\n", 7));
  RedisReply r;
  EXPECT_EQ(reader.next(r), RedisReader::Status::kError);
  EXPECT_FALSE(reader.error().empty());

  RedisReader small(4);
  ASSERT_TRUE(small.feed("*5\r\n", 4));
  EXPECT_EQ(small.next(r), RedisReader::Status::kError);
  small.reset();
  ASSERT_TRUE(small.feed("*2\r\n:1\r\n:2\r\n", 12));
  ASSERT_EQ(small.next(r), RedisReader::Status::kReply);
  EXPECT_EQ(r.elements.size(), 2u);
}

TEST(RedisResult, ServerErrorsKeepTheirLineAndMatchByFirstWord) {
  RedisReply reply;
  reply.type = RedisReplyType::kError;
  reply.str = "NOSCRIPT No matching script. Please use EVAL.";
  const RedisResult r = RedisResult::from_reply(reply);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.ec, RedisErrc::kServerError);
  EXPECT_TRUE(r.server_error_is("NOSCRIPT"));
  EXPECT_FALSE(r.server_error_is("NOSCRIPTX"));
  EXPECT_FALSE(r.server_error_is("NO"));
  EXPECT_FALSE(RedisResult::failure(RedisErrc::kTimeout, "x").server_error_is("NOSCRIPT"));
}

TEST(RedisScript, Sha1MatchesWhatRedisComputes) {
  // SCRIPT LOAD "return 1" answers this digest.
  EXPECT_EQ(RedisScript("return 1").sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

TEST(RedisEndpoint, ParsesHostPortForms) {
  auto a = RedisEndpoint::parse("127.0.0.1:7000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7000);
  auto b = RedisEndpoint::parse("::1:7001");  // as written in MOVED replies
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->str(), "[::1]:7001");
  auto c = RedisEndpoint::parse("[fe80::1]:6379");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "fe80::1");
  EXPECT_FALSE(RedisEndpoint::parse("host"));
  EXPECT_FALSE(RedisEndpoint::parse("host:0"));
  EXPECT_FALSE(RedisEndpoint::parse("host:99999"));
  EXPECT_FALSE(RedisEndpoint::parse(":6379"));
}

TEST(RedisOptions, FromSettings) {
  Settings s;
  s.raw = {{"REDIS_HOST", "redis.internal"},
           {"REDIS_PORT", "6380"},
           {"REDIS_DB", "2"},
           {"REDIS_PASSWORD", "s3cret"},
           {"REDIS_TIMEOUT_MS", "250"}};
  RedisOptions o = redis_options_from_settings(s);
  EXPECT_EQ(o.endpoint.host, "redis.internal");
  EXPECT_EQ(o.endpoint.port, 6380);
  EXPECT_EQ(o.db, 2u);
  EXPECT_EQ(o.password, "s3cret");
  EXPECT_EQ(o.command_timeout.count(), 250);
  EXPECT_FALSE(o.cluster);

  s.raw = {{"REDIS_CLUSTER_ENABLED", "true"},
           {"REDIS_CLUSTER_NODES", "10.0.0.1:7000, 10.0.0.2:7001"},
           {"REDIS_CLUSTER_PASSWORD", "c"},
           {"REDIS_DB", "3"}};
  o = redis_options_from_settings(s);
  EXPECT_TRUE(o.cluster);
  ASSERT_EQ(o.cluster_nodes.size(), 2u);
  EXPECT_EQ(o.cluster_nodes[1].str(), "10.0.0.2:7001");
  EXPECT_EQ(o.password, "c");
  EXPECT_EQ(o.db, 0u);

  s.raw = {{"REDIS_PORT", "abc"}};
  EXPECT_THROW(redis_options_from_settings(s), SettingsError);
  s.raw = {{"REDIS_CLUSTER_ENABLED", "true"}, {"REDIS_CLUSTER_NODES", "nope"}};
  EXPECT_THROW(redis_options_from_settings(s), SettingsError);
}

}  // namespace
}  // namespace gatewayd
