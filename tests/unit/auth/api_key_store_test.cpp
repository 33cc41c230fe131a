#include "filters/auth/api_key_store.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "auth_fixtures.hpp"
#include "filters/auth/credentials.hpp"

namespace gatewayd::auth {
namespace {

using namespace std::chrono_literals;
using testing::at;

std::string hash_of(std::string_view key) {
  return to_hex(sha256(key));
}

class TempFile {
 public:
  explicit TempFile(const std::string& content, const std::string& ext = ".yaml") {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("gw_api_keys_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ext);
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(ApiKeyStore, LoadsYamlFileAndLooksUpByHash) {
  const std::string key = "gw_reporting_key_1";
  TempFile file(
      "api_keys:\n"
      "  - key_hash: \"sha256:" +
      hash_of(key) +
      "\"\n"
      "    user_id: reporting-service\n"
      "    tenant_id: acme\n"
      "    name: nightly reports\n"
      "    roles: [reader, exporter]\n"
      "    permissions: [projects:read]\n"
      "    scopes: read\n"
      "    expires_at: \"2030-01-01T00:00:00Z\"\n"
      "    enabled: true\n"
      "    rate_limit_per_minute: 600\n"
      "  - key_hash: " +
      hash_of("gw_disabled") +
      "\n"
      "    user_id: old\n"
      "    enabled: false\n");
  ApiKeyStore store;
  store.load_file(file.path());
  EXPECT_EQ(store.size(), 2u);

  auto r = store.lookup(key, at(1800000000));
  ASSERT_TRUE(r.ok()) << api_key_error_name(r.error());
  const Principal& p = r.principal();
  EXPECT_EQ(p.subject, "reporting-service");
  EXPECT_EQ(p.tenant_id, "acme");
  EXPECT_EQ(p.roles, (std::vector<std::string>{"reader", "exporter"}));
  EXPECT_EQ(p.permissions, (std::vector<std::string>{"projects:read"}));
  EXPECT_EQ(p.scopes, (std::vector<std::string>{"read"}));
  EXPECT_EQ(p.auth_method, AuthMethod::kApiKey);
  EXPECT_EQ(p.key_id, hash_of(key).substr(0, 16));
  EXPECT_EQ(p.expires_at, at(1893456000));
  EXPECT_EQ(p.rate_limit_per_minute, 600u);  // the key's own limit, for the rate limiter
  EXPECT_FALSE(p.rate_limit_per_hour);
  ASSERT_TRUE(r.record());
  EXPECT_EQ(r.record()->name, "nightly reports");
  EXPECT_EQ(r.record()->rate_limit_per_minute, 600u);

  EXPECT_EQ(store.lookup("gw_disabled", at(0)).error(), ApiKeyError::kDisabled);
  EXPECT_EQ(store.lookup("gw_reporting_key_2", at(0)).error(), ApiKeyError::kUnknown);
  EXPECT_EQ(store.lookup(key, at(1893456000)).error(), ApiKeyError::kExpired);
  EXPECT_FALSE(store.lookup(key, at(1893456000)).ok());
}

TEST(ApiKeyStore, LoadsJsonToo) {
  TempFile file(R"({"api_keys": [{"key_hash": ")" + hash_of("k1") +
                    R"(", "user_id": "u1", "permissions": "a:read, b:write"}]})",
                ".json");
  ApiKeyStore store;
  store.load_file(file.path());
  auto r = store.lookup("k1", at(0));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.principal().permissions, (std::vector<std::string>{"a:read", "b:write"}));
  EXPECT_FALSE(r.principal().expires_at);
}

TEST(ApiKeyStore, BadFilesNameTheEntry) {
  auto expect_error = [](const std::string& content, const std::string& needle) {
    TempFile file(content);
    try {
      ApiKeyStore::parse_file(file.path());
      ADD_FAILURE() << "accepted: " << content;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("api_keys:\n  - key: gw_clear_text_key\n    user_id: u\n", "clear key");
  expect_error("api_keys:\n  - key_hash: sha256:abc\n    user_id: u\n", "api_keys[0]");
  expect_error("api_keys:\n  - key_hash: " + hash_of("x") + "\n", "user_id");
  expect_error("api_keys:\n  - key_hash: " + hash_of("x") +
                   "\n    user_id: u\n    expires_at: "
                   "tomorrow\n",
               "expires_at");
  expect_error("api_keys: {a: 1}\n", "must be a list");
  expect_error("api_keys: [\n", "YAML");
  // The clear key never shows up in the message.
  TempFile clear("api_keys:\n  - key: gw_super_secret_value\n    user_id: u\n");
  try {
    ApiKeyStore::parse_file(clear.path());
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).find("gw_super_secret_value"), std::string::npos);
  }
}

TEST(ApiKeyStore, DatabaseRowsMergeWithFileEntries) {
  ApiKeyStore store;
  ApiKeyRecord file;
  file.key_hash = "sha256:" + hash_of("shared");
  file.user_id = "from-file";
  ApiKeyRecord only_file;
  only_file.key_hash = hash_of("file-only");
  only_file.user_id = "file";
  store.set_file_records({file, only_file});

  ApiKeyRecord row;
  row.key_hash = hash_of("shared");
  row.user_id = "from-db";
  ApiKeyRecord bad;
  bad.key_hash = "not-a-hash";
  bad.user_id = "x";
  EXPECT_EQ(store.set_database_records({row, bad}), 1u);
  EXPECT_EQ(store.lookup("shared", at(0)).principal().subject, "from-db");
  EXPECT_EQ(store.lookup("file-only", at(0)).principal().subject, "file");

  // A later table load replaces the previous rows.
  store.set_database_records({});
  EXPECT_EQ(store.lookup("shared", at(0)).principal().subject, "from-file");
}

TEST(ApiKeyStore, PresentedKeysAreBounded) {
  ApiKeyStore store;
  EXPECT_EQ(store.lookup("", at(0)).error(), ApiKeyError::kMalformed);
  EXPECT_EQ(store.lookup(std::string(ApiKeyStore::kMaxKeyLength + 1, 'a'), at(0)).error(),
            ApiKeyError::kMalformed);
  EXPECT_EQ(store.lookup("has space", at(0)).error(), ApiKeyError::kMalformed);
  EXPECT_EQ(store.lookup("line\nbreak", at(0)).error(), ApiKeyError::kMalformed);
  EXPECT_EQ(store.lookup("fine_but_unknown", at(0)).error(), ApiKeyError::kUnknown);
  for (auto e : {ApiKeyError::kMalformed, ApiKeyError::kUnknown, ApiKeyError::kExpired,
                 ApiKeyError::kDisabled}) {
    EXPECT_FALSE(ApiKeyResult::failure(e).message().empty());
  }
}

TEST(ApiKeyStore, GeneratedKeysWorkAndDiffer) {
  auto a = generate_api_key();
  auto b = generate_api_key();
  EXPECT_NE(a.key, b.key);
  EXPECT_EQ(a.key.rfind("gw_", 0), 0u);
  EXPECT_EQ(a.key.size(), 3u + 43u);
  EXPECT_EQ(a.hash_hex, hash_of(a.key));
  EXPECT_EQ(a.key.find(a.hash_hex), std::string::npos);
  ApiKeyStore store;
  ApiKeyRecord r;
  r.key_hash = "sha256:" + a.hash_hex;
  r.user_id = "admin-created";
  store.set_file_records({r});
  EXPECT_TRUE(store.lookup(a.key, at(0)).ok());
  EXPECT_FALSE(store.lookup(b.key, at(0)).ok());
}

TEST(ApiKeyStore, ConcurrentLookupsDuringReloads) {
  ApiKeyStore store;
  ApiKeyRecord r;
  r.key_hash = hash_of("stable");
  r.user_id = "u";
  store.set_file_records({r});
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        if (!store.lookup("stable", at(0)).ok()) failures.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    ApiKeyRecord row;
    row.key_hash = hash_of("row-" + std::to_string(i));
    row.user_id = "db";
    store.set_database_records({row});
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Timestamps, Formats) {
  EXPECT_EQ(parse_timestamp("2030-01-01T00:00:00Z"), at(1893456000));
  EXPECT_EQ(parse_timestamp("2030-01-01 00:00:00"), at(1893456000));
  EXPECT_EQ(parse_timestamp("2030-01-01"), at(1893456000));
  EXPECT_EQ(parse_timestamp("2030-01-01T02:30:00+02:30"), at(1893456000));
  EXPECT_EQ(parse_timestamp("2029-12-31T19:00:00.123-05:00"), at(1893456000));
  EXPECT_EQ(parse_timestamp("1893456000"), at(1893456000));
  EXPECT_FALSE(parse_timestamp("2030-02-30"));
  EXPECT_FALSE(parse_timestamp("2030-01-01T25:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2030-01-01T00:00:00 UTC"));
  EXPECT_FALSE(parse_timestamp("soon"));
  EXPECT_FALSE(parse_timestamp(""));
}

TEST(Credentials, BearerToken) {
  EXPECT_EQ(extract_bearer_token("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(extract_bearer_token("bearer   abc  "), "abc");
  EXPECT_EQ(extract_bearer_token("BEARER\tabc"), "abc");
  EXPECT_FALSE(extract_bearer_token("Bearer"));
  EXPECT_FALSE(extract_bearer_token("Bearer "));
  EXPECT_FALSE(extract_bearer_token("Bearerabc"));
  EXPECT_FALSE(extract_bearer_token("Basic dXNlcjpwYXNz"));
  EXPECT_FALSE(extract_bearer_token(""));
}

TEST(Credentials, ApiKey) {
  EXPECT_EQ(extract_api_key("gw_abc", ""), "gw_abc");
  EXPECT_EQ(extract_api_key(" gw_abc ", "ApiKey other"), "gw_abc");
  EXPECT_EQ(extract_api_key("", "ApiKey gw_def"), "gw_def");
  EXPECT_EQ(extract_api_key("", "apikey gw_def"), "gw_def");
  EXPECT_FALSE(extract_api_key("", "Bearer gw_def"));
  EXPECT_FALSE(extract_api_key("", "ApiKey"));
  EXPECT_FALSE(extract_api_key("  ", ""));
}

}  // namespace
}  // namespace gatewayd::auth
