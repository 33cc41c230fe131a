#include <gtest/gtest.h>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <string>
#include <vector>

#include "gatewayd/router.hpp"

namespace gatewayd {
namespace {

struct Result {
  PathError error;
  std::string path;
};

Result norm(std::string_view target) {
  NormalizedTarget out;
  const auto e = normalize_target(target, out);
  return {e, out.path};
}

std::string path_of(std::string_view target) {
  const auto r = norm(target);
  EXPECT_EQ(r.error, PathError::kNone) << target;
  return r.path;
}

TEST(NormalizeTarget, PlainPathsPassUnchanged) {
  NormalizedTarget out;
  ASSERT_EQ(normalize_target("/api/v1/items", out), PathError::kNone);
  EXPECT_EQ(out.path, "/api/v1/items");
  EXPECT_FALSE(out.has_query);
  EXPECT_TRUE(out.query.empty());
  EXPECT_FALSE(out.changed);
  EXPECT_EQ(path_of("/"), "/");
  EXPECT_EQ(path_of("/a/"), "/a/");
  EXPECT_EQ(path_of("/.well-known/x"), "/.well-known/x");
  EXPECT_EQ(path_of("/a/...b/..c/c.."), "/a/...b/..c/c..");
  EXPECT_EQ(path_of("/a:b@c!$&'()*+,;="), "/a:b@c!$&'()*+,;=");
}

TEST(NormalizeTarget, DotSegments) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"/a/./b", "/a/b"},     {"/a/../b", "/b"},     {"/a/b/..", "/a/"},     {"/a/b/.", "/a/b/"},
      {"/a/.", "/a/"},        {"/.", "/"},           {"/a/..", "/"},         {"/./a", "/a"},
      {"/a/b/../../c", "/c"}, {"/a/b/../", "/a/"},   {"/a/./././b", "/a/b"}, {"/a//../b", "/a/b"},
      {"/a/%2e/b", "/a/b"},   {"/a/%2E%2E/b", "/b"}, {"/a/.%2e/b", "/b"},    {"/a/b/..?q=1", "/a/"},
  };
  for (const auto& [in, want] : cases) {
    NormalizedTarget out;
    ASSERT_EQ(normalize_target(in, out), PathError::kNone) << in;
    EXPECT_EQ(out.path, want) << in;
    EXPECT_TRUE(out.changed) << in;
  }
}

TEST(NormalizeTarget, ClimbingAboveTheRootIsRejected) {
  for (const char* t : {"/..", "/../a", "/a/../..", "/a/../../b", "/./../x", "/%2e%2e/x",
                        "/a/%2E%2E/%2e%2e/etc/passwd", "/..?x=1"}) {
    NormalizedTarget out;
    EXPECT_EQ(normalize_target(t, out), PathError::kEscapesRoot) << t;
    EXPECT_TRUE(out.path.empty()) << t;
  }
}

TEST(NormalizeTarget, DoubleSlashesAreKept) {
  EXPECT_EQ(path_of("/a//b"), "/a//b");
  EXPECT_EQ(path_of("//"), "//");
  EXPECT_EQ(path_of("/a//b/./c"), "/a//b/c");
}

TEST(NormalizeTarget, PercentEncoding) {
  EXPECT_EQ(path_of("/%41%62%7e%2D%5f%2e%30"), "/Ab~-_.0");
  EXPECT_EQ(path_of("/a%3ab"), "/a%3Ab");
  EXPECT_EQ(path_of("/caf%c3%a9"), "/caf%C3%A9");
  EXPECT_EQ(path_of("/100%25"), "/100%25");  // an encoded '%' stays encoded
  EXPECT_EQ(path_of("/%2525"), "/%2525");
  EXPECT_EQ(path_of("/a%20b"), "/a%20b");
  EXPECT_EQ(path_of("/q%3F"), "/q%3F");  // an encoded '?' never starts the query
  NormalizedTarget out;
  ASSERT_EQ(normalize_target("/a%41", out), PathError::kNone);
  EXPECT_TRUE(out.changed);
  ASSERT_EQ(normalize_target("/a%3A", out), PathError::kNone);
  EXPECT_FALSE(out.changed);
}

TEST(NormalizeTarget, EncodedSlashAndBackslashAreRejected) {
  for (const char* t : {"/a%2Fb", "/a%2fb", "/a%5Cb", "/a%5cb", "/%2F", "/x?y=1&p=%2F/../a%5C"}) {
    if (std::string_view(t).find('?') != std::string_view::npos) {
      // Only the path is checked; the query is opaque.
      EXPECT_EQ(norm(t).error, PathError::kNone) << t;
      continue;
    }
    EXPECT_EQ(norm(t).error, PathError::kEncodedSlash) << t;
  }
}

TEST(NormalizeTarget, BackslashNulAndControlCharacters) {
  EXPECT_EQ(norm("/a\\b").error, PathError::kBackslash);
  EXPECT_EQ(norm("/..\\..\\etc").error, PathError::kBackslash);
  EXPECT_EQ(norm(std::string_view("/a\0b", 4)).error, PathError::kNul);
  EXPECT_EQ(norm("/a%00b").error, PathError::kNul);
  EXPECT_EQ(norm("/a\x01").error, PathError::kBadEncoding);
  EXPECT_EQ(norm("/a\tb").error, PathError::kBadEncoding);
  EXPECT_EQ(norm("/a\x7f").error, PathError::kBadEncoding);
  EXPECT_EQ(norm("/a%0Ab").error, PathError::kBadEncoding);
  EXPECT_EQ(norm("/a%0d%0aSet-Cookie:x").error, PathError::kBadEncoding);
  EXPECT_EQ(norm("/a%7F").error, PathError::kBadEncoding);
  EXPECT_EQ(norm("/a#frag").error, PathError::kBadEncoding);
}

TEST(NormalizeTarget, MalformedPercentEncoding) {
  for (const char* t : {"/%", "/a%", "/a%4", "/%zz", "/%G0", "/%0G", "/%%41", "/a%4?x"}) {
    EXPECT_EQ(norm(t).error, PathError::kBadEncoding) << t;
  }
}

TEST(NormalizeTarget, NotOriginForm) {
  for (const char* t : {"", "*", "a/b", "http://example.com/a", "?x=1"}) {
    EXPECT_EQ(norm(t).error, PathError::kNotOrigin) << t;
  }
}

TEST(NormalizeTarget, QueryIsKeptByteForByte) {
  const std::string target = "/p/../q?b=2&a=1&a=%2f&a=..%2F&c=/../&d=%zz&&e=&f=\\";
  NormalizedTarget out;
  ASSERT_EQ(normalize_target(target, out), PathError::kNone);
  EXPECT_EQ(out.path, "/q");
  EXPECT_TRUE(out.has_query);
  EXPECT_EQ(out.query, "b=2&a=1&a=%2f&a=..%2F&c=/../&d=%zz&&e=&f=\\");
  EXPECT_EQ(out.query.data(), target.data() + target.find('?') + 1);  // a view, not a copy

  ASSERT_EQ(normalize_target("/x?", out), PathError::kNone);
  EXPECT_TRUE(out.has_query);
  EXPECT_EQ(out.query, "");
  ASSERT_EQ(normalize_target("/x?a=1?b=2", out), PathError::kNone);
  EXPECT_EQ(out.path, "/x");
  EXPECT_EQ(out.query, "a=1?b=2");
}

TEST(NormalizeTarget, ReusedOutputIsReset) {
  NormalizedTarget out;
  ASSERT_EQ(normalize_target("/a/../b?x=1", out), PathError::kNone);
  EXPECT_TRUE(out.changed);
  ASSERT_EQ(normalize_target("/c", out), PathError::kNone);
  EXPECT_EQ(out.path, "/c");
  EXPECT_FALSE(out.has_query);
  EXPECT_FALSE(out.changed);
  EXPECT_TRUE(out.query.empty());
  EXPECT_NE(normalize_target("/%2F", out), PathError::kNone);
  EXPECT_FALSE(out.has_query);
}

// Where both accept a target, the result equals RFC 3986 normalisation as Boost.URL does it.
// (Boost.URL also decodes reserved characters allowed raw in a path, such as "%3A" to ':';
// gatewayd decodes only unreserved ones, which RFC 3986 section 6.2.2.2 calls equivalent.)
TEST(NormalizeTarget, AgreesWithBoostUrlOnAcceptedTargets) {
  for (const char* t : {"/a/b", "/a/./b", "/a/b/../c", "/a/b/..", "/a/%7Euser", "/%41%42/%63",
                        "/caf%c3%a9/./x", "/a//b", "/a/b/.", "/a/%2e/b", "/a/b/%2E%2E/c",
                        "/.well-known/a", "/a/b/c/../../d", "/-._~/x", "/a%20b/../c%2d"}) {
    NormalizedTarget out;
    ASSERT_EQ(normalize_target(t, out), PathError::kNone) << t;
    auto parsed = boost::urls::parse_origin_form(t);
    ASSERT_TRUE(parsed) << t;
    boost::urls::url u(*parsed);
    u.normalize_path();
    EXPECT_EQ(out.path, std::string(u.encoded_path())) << t;
  }
}

}  // namespace
}  // namespace gatewayd
