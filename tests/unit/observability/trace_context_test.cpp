#include "observability/trace_context.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>

#include "observability/request_id.hpp"

namespace gatewayd::tracing {
namespace {

constexpr std::string_view kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceparentTest, ParsesSpecExample) {
  const auto tp = parse_traceparent(kValid);
  ASSERT_TRUE(tp.has_value());
  EXPECT_EQ(tp->version, 0);
  EXPECT_EQ(tp->trace_id.hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(tp->parent_id.hex(), "00f067aa0ba902b7");
  EXPECT_TRUE(tp->sampled());

  const auto unsampled =
      parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled.has_value());
  EXPECT_FALSE(unsampled->sampled());
}

TEST(TraceparentTest, SampledBitIsMasked) {
  const auto tp = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09");
  ASSERT_TRUE(tp.has_value());
  EXPECT_EQ(tp->flags, 0x09);
  EXPECT_TRUE(tp->sampled());
  const auto tp2 = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe");
  ASSERT_TRUE(tp2.has_value());
  EXPECT_FALSE(tp2->sampled());
}

TEST(TraceparentTest, IgnoresSurroundingWhitespace) {
  EXPECT_TRUE(parse_traceparent(std::string(" ") + std::string(kValid) + " ").has_value());
  EXPECT_TRUE(parse_traceparent(std::string("\t") + std::string(kValid) + "\t").has_value());
}

TEST(TraceparentTest, RejectsInvalidVectors) {
  const char* invalid[] = {
      "",
      "00",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    // short flags
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",    // short trace id
      "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",  // long trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",    // short parent id
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",   // uppercase
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",   // uppercase flags
      "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // uppercase version
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // zero parent id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // forbidden version
      "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // bad version
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b.-01",   // illegal char
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",   // illegal char
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // bad delimiter
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // v00 takes no extra data
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like",
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what-the-future-will-be-like",
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
      "cc-00000000000000000000000000000000-00f067aa0ba902b7-01-future",
  };
  for (const char* header : invalid) {
    EXPECT_FALSE(parse_traceparent(header).has_value()) << header;
  }
}

TEST(TraceparentTest, AcceptsHigherVersionsByTheirFirstFields) {
  const auto tp = parse_traceparent(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like");
  ASSERT_TRUE(tp.has_value());
  EXPECT_EQ(tp->version, 0xcc);
  EXPECT_EQ(tp->trace_id.hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(tp->sampled());
  EXPECT_TRUE(
      parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").has_value());
}

TEST(TraceparentTest, ContinuesIncomingTraceAndDowngradesVersion) {
  const Sampler never(0.0);
  const auto ctx = start_trace("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
                               "congo=t61rcWkgMzE", never);
  EXPECT_TRUE(ctx.remote_parent);
  EXPECT_TRUE(ctx.sampled);  // parent-based: the caller's decision wins over the root ratio
  EXPECT_EQ(ctx.trace_id.hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ctx.parent_span_id.hex(), "00f067aa0ba902b7");
  EXPECT_TRUE(ctx.span_id.valid());
  EXPECT_NE(ctx.span_id, ctx.parent_span_id);
  EXPECT_EQ(ctx.tracestate, "congo=t61rcWkgMzE");

  const std::string out = ctx.traceparent();
  EXPECT_EQ(out.size(), kTraceparentLength);
  EXPECT_EQ(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-" + ctx.span_id.hex() + "-01");
  const auto reparsed = parse_traceparent(out);
  ASSERT_TRUE(reparsed.has_value());
  EXPECT_EQ(reparsed->parent_id, ctx.span_id);
}

TEST(TraceparentTest, UnsampledParentStaysUnsampled) {
  const Sampler always(1.0);
  const auto ctx =
      start_trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "", always);
  EXPECT_FALSE(ctx.sampled);
  EXPECT_TRUE(ctx.traceparent().ends_with("-00"));
}

TEST(TraceparentTest, InvalidIncomingStartsNewTraceAndDropsTracestate) {
  const Sampler always(1.0);
  const auto ctx = start_trace("00-zzz", "congo=t61rcWkgMzE", always);
  EXPECT_FALSE(ctx.remote_parent);
  EXPECT_TRUE(ctx.trace_id.valid());
  EXPECT_FALSE(ctx.parent_span_id.valid());
  EXPECT_TRUE(ctx.sampled);
  EXPECT_TRUE(ctx.tracestate.empty());

  const auto none = start_trace("", "", Sampler(0.0));
  EXPECT_FALSE(none.sampled);
  EXPECT_TRUE(none.valid());
}

TEST(TraceparentTest, ChildKeepsTraceAndPointsAtParent) {
  const auto ctx = start_trace(kValid, "a=1", Sampler(1.0));
  const auto child = ctx.child();
  EXPECT_EQ(child.trace_id, ctx.trace_id);
  EXPECT_EQ(child.parent_span_id, ctx.span_id);
  EXPECT_NE(child.span_id, ctx.span_id);
  EXPECT_EQ(child.sampled, ctx.sampled);
  EXPECT_EQ(child.tracestate, "a=1");
}

TEST(TraceparentTest, IdsAreRandomAndNonZero) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto t = random_trace_id();
    const auto s = random_span_id();
    EXPECT_TRUE(t.valid());
    EXPECT_TRUE(s.valid());
    seen.insert(t.hex());
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(TraceId::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736").has_value());
  EXPECT_EQ(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736")->hex(),
            "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(SamplerTest, RatioBoundsAndDeterminism) {
  const Sampler never(0.0), always(1.0), half(0.5), bad(-3.0), not_a_number(std::nan(""));
  int sampled = 0;
  for (int i = 0; i < 4000; ++i) {
    const auto id = random_trace_id();
    EXPECT_FALSE(never.sample_root(id));
    EXPECT_TRUE(always.sample_root(id));
    EXPECT_FALSE(bad.sample_root(id));
    EXPECT_FALSE(not_a_number.sample_root(id));
    EXPECT_EQ(half.sample_root(id), half.sample_root(id));
    sampled += half.sample_root(id) ? 1 : 0;
  }
  // 4000 fair coin flips: outside [1600, 2400] has probability far below 1e-30.
  EXPECT_GT(sampled, 1600);
  EXPECT_LT(sampled, 2400);
  EXPECT_DOUBLE_EQ(Sampler(7.0).ratio(), 1.0);

  TraceId low{}, high{};
  low.bytes[15] = 1;
  high.bytes.fill(0xff);
  EXPECT_TRUE(half.sample_root(low));
  EXPECT_FALSE(half.sample_root(high));
}

TEST(TracestateTest, NormalisesValidHeaders) {
  EXPECT_EQ(normalize_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(normalize_tracestate(" rojo=1 ,\t, congo=2\t"), "rojo=1,congo=2");
  EXPECT_EQ(normalize_tracestate(""), "");
  EXPECT_EQ(normalize_tracestate(" , "), "");
  EXPECT_EQ(normalize_tracestate("foo= bar"), "foo= bar");  // leading spaces are value
  EXPECT_EQ(normalize_tracestate("tenant@system=1,0key=2,a_-*/z=3"),
            "tenant@system=1,0key=2,a_-*/z=3");
}

TEST(TracestateTest, InvalidHeadersAreDropped) {
  const char* invalid[] = {
      "foo=1,foo=2",          // duplicate key
      "FOO=1",                // uppercase key
      "foo",                  // no '='
      "foo=",                 // empty value
      "=1",                   // empty key
      "foo=1=2",              // '=' in value
      "foo=a\x01",            // control character
      "_foo=1",               // bad first key character
      "t@9sys=1",             // system id must start with a letter
      "a@b@c=1",              // two '@'
      "t@abcdefghijklmno=1",  // system id over 14 characters
  };
  for (const char* h : invalid) EXPECT_EQ(normalize_tracestate(h), "") << h;

  EXPECT_EQ(normalize_tracestate(std::string(256, 'k') + "=v"), std::string(256, 'k') + "=v");
  EXPECT_EQ(normalize_tracestate(std::string(257, 'k') + "=v"), "");
  EXPECT_EQ(normalize_tracestate("k=" + std::string(257, 'v')), "");
}

TEST(TracestateTest, AtMost32Members) {
  std::string h32, h33;
  for (int i = 0; i < 33; ++i) {
    std::string m = "k" + std::to_string(i) + "=v";
    if (i < 32) h32 += (i ? "," : "") + m;
    h33 += (i ? "," : "") + m;
  }
  EXPECT_EQ(normalize_tracestate(h32), h32);
  EXPECT_EQ(normalize_tracestate(h33), "");
}

TEST(TracestateTest, TruncatesLongEntriesFirstThenFromTheRight) {
  // 4 short entries of 100 characters, 1 long entry of 200: 601 characters in all.
  std::string shorts[4];
  for (int i = 0; i < 4; ++i) shorts[i] = "s" + std::to_string(i) + "=" + std::string(97, 'x');
  const std::string long_entry = "long=" + std::string(195, 'y');
  const std::string header =
      shorts[0] + "," + long_entry + "," + shorts[1] + "," + shorts[2] + "," + shorts[3];
  EXPECT_EQ(normalize_tracestate(header),
            shorts[0] + "," + shorts[1] + "," + shorts[2] + "," + shorts[3]);

  // Only short entries, 6 x 100 characters: the rightmost go until it fits in 512.
  std::string many;
  std::string expected;
  for (int i = 0; i < 6; ++i) {
    const std::string m = "k" + std::to_string(i) + "=" + std::string(97, 'z');
    many += (i ? "," : "") + m;
    if (i < 5) expected += (i ? "," : "") + m;
  }
  EXPECT_EQ(normalize_tracestate(many), expected);
  EXPECT_EQ(normalize_tracestate(std::string(kMaxTracestateInput + 1, 'a')), "");
}

TEST(RequestIdTest, SafeCharactersAndLength) {
  EXPECT_TRUE(is_safe_request_id("abc-123_DEF.ghi:jkl"));
  EXPECT_TRUE(is_safe_request_id(std::string(128, 'a')));
  EXPECT_FALSE(is_safe_request_id(std::string(129, 'a')));
  EXPECT_FALSE(is_safe_request_id(""));
  EXPECT_FALSE(is_safe_request_id("has space"));
  EXPECT_FALSE(is_safe_request_id("semi;colon"));
  EXPECT_FALSE(is_safe_request_id("new\nline"));
  EXPECT_FALSE(is_safe_request_id("quote\""));
  EXPECT_FALSE(is_safe_request_id("caf\xc3\xa9"));
  EXPECT_FALSE(is_safe_request_id(std::string_view("nul\0", 4)));
}

// Milliseconds since the epoch in the first 48 bits of a UUIDv7 string.
std::uint64_t uuid_v7_millis(const std::string& id) {
  return std::stoull(id.substr(0, 8) + id.substr(9, 4), nullptr, 16);
}

std::uint64_t now_millis() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

TEST(RequestIdTest, GeneratedIdsAreSafeTimeOrderedUuidV7AndUnique) {
  std::set<std::string> seen;
  const std::uint64_t before = now_millis();
  std::uint64_t last = 0;
  for (int i = 0; i < 10000; ++i) {
    const auto id = generate_request_id();
    ASSERT_EQ(id.size(), 36u);
    ASSERT_TRUE(is_safe_request_id(id));
    ASSERT_EQ(id[8], '-');
    ASSERT_EQ(id[13], '-');
    ASSERT_EQ(id[14], '7');
    // The timestamp is the time of generation.
    const std::uint64_t ms = uuid_v7_millis(id);
    ASSERT_GE(ms, before);
    last = std::max(last, ms);
    ASSERT_EQ(id[18], '-');
    ASSERT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
    ASSERT_EQ(id[23], '-');
    seen.insert(id);
  }
  EXPECT_LE(last, now_millis());
  EXPECT_EQ(seen.size(), 10000u);
}

}  // namespace
}  // namespace gatewayd::tracing
