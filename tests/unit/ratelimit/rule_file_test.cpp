// The rules file (RATE_LIMIT_RULES_FILE): format, errors naming file, entry and field, the
// optional file, and its merge with the rate_limit_rules table.
#include "filters/rate_limit/rule_file.hpp"

#include <gtest/gtest.h>

#include <string>

#include "filters/rate_limit/rate_limit_service.hpp"
#include "filters/rate_limit/rule_table.hpp"
#include "gatewayd/settings.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::ratelimit {
namespace {

// The message of the std::invalid_argument `f` throws; fails the test when it throws nothing.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::invalid_argument";
  return {};
}

RateLimitRuleSpec spec(std::string name, std::uint32_t max, std::string pattern = "",
                       bool active = true) {
  RateLimitRuleSpec s;
  s.rule_name = std::move(name);
  s.limit_type = LimitType::kPerIp;
  s.path_pattern = std::move(pattern);
  s.max_requests = max;
  s.is_active = active;
  return s;
}

TEST(RuleFile, ParsesTheRulesList) {
  const auto specs = parse_rule_file(R"(# file rules
rules:
  - rule_name: search-per-ip
    limit_type: per_ip
    path_pattern: /api/search/**
    max_requests: 30
    window_seconds: 60
    burst: 10
  - rule_name: keys-hourly
    limit_type: per_api_key
    max_requests: 5000
    window_seconds: 3600
  - rule_name: off
    limit_type: global
    max_requests: 1
    is_active: false
)",
                                     "rate_limits.yaml");
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].rule_name, "search-per-ip");
  EXPECT_EQ(specs[0].limit_type, LimitType::kPerIp);
  EXPECT_EQ(specs[0].path_pattern, "/api/search/**");
  EXPECT_EQ(specs[0].max_requests, 30u);
  EXPECT_EQ(specs[0].burst, 10u);
  EXPECT_EQ(specs[1].limit_type, LimitType::kPerApiKey);
  EXPECT_EQ(specs[1].window_seconds, 3600u);
  EXPECT_FALSE(specs[1].burst);
  EXPECT_EQ(specs[1].path_pattern, "");
  EXPECT_FALSE(specs[2].is_active);

  // The list name of the table is accepted too; an empty file or list means no rules.
  EXPECT_EQ(parse_rule_file("rate_limit_rules:\n  - {rule_name: a, limit_type: global, "
                            "max_requests: 1}\n",
                            "f")
                .size(),
            1u);
  EXPECT_TRUE(parse_rule_file("", "f").empty());
  EXPECT_TRUE(parse_rule_file("# nothing yet\n", "f").empty());
  EXPECT_TRUE(parse_rule_file("rules: []\n", "f").empty());
  EXPECT_TRUE(parse_rule_file("rules:\n", "f").empty());
}

TEST(RuleFile, ErrorsNameTheFileTheEntryAndTheField) {
  struct Case {
    const char* yaml;
    const char* expected;  // substring of the message, after "conf/rate_limits.yaml "
  };
  const Case cases[] = {
      {"rules:\n  - {rule_name: a, limit_type: per_ip, max_requests: 1}\n"
       "  - {rule_name: b, limit_type: per_moon, max_requests: 1}\n",
       "rules[1] (line 3): limit_type: one of"},
      {"rules:\n  - rule_name: a\n    limit_type: per_ip\n    max_requests: -3\n",
       "rules[0] (line 2): max_requests: expected a non-negative integer"},
      {"rules:\n  - rule_name: a\n    limit_type: per_ip\n    max_requests: 0\n",
       "rules[0] (line 2): max_requests: must be at least 1"},
      {"rules:\n  - {rule_name: a, limit_type: per_ip, max_requests: 5, window_seconds: ten}\n",
       "rules[0] (line 2): window_seconds: expected a non-negative integer"},
      {"rules:\n  - {rule_name: a, limit_type: per_ip, max_requests: 5, burst: 0}\n",
       "burst: must be at least 1"},
      {"rules:\n  - {rule_name: a, limit_type: per_ip, max_requests: 5, path_pattern: api}\n",
       "path_pattern: must start with '/'"},
      {"rules:\n  - {rule_name: a, limit_type: per_ip, max_requests: 5, is_active: maybe}\n",
       "is_active: expected true or false"},
      {"rules:\n  - {rule_name: a, limit_type: per_ip, max_requests: 5, colour: red}\n",
       "unknown field 'colour'"},
      {"rules:\n  - {limit_type: per_ip, max_requests: 5}\n", "rule_name: missing"},
      {"rules:\n  - {rule_name: a, max_requests: 5}\n", "limit_type: missing"},
      {"rules:\n  - {rule_name: a, limit_type: global}\n", "max_requests: missing"},
      {"rules:\n  - {rule_name: 'a b', limit_type: global, max_requests: 1}\n", "rule_name: 1 to"},
      {"rules:\n  - {rule_name: a, limit_type: global, max_requests: 1}\n"
       "  - {rule_name: a, limit_type: per_ip, max_requests: 2}\n",
       "rules[1] (line 3): rule_name: duplicate 'a'"},
      {"rules:\n  - just a string\n", "rules[0] (line 2): must be a mapping"},
      {"rules: {rule_name: a}\n", "rules must be a list"},
      {"routes: []\n", "unknown top-level field 'routes'"},
      {"- rule_name: a\n", "expected a mapping with a 'rules' list"},
      {"rules: [\n", "line "},
  };
  for (const auto& c : cases) {
    const std::string message = error_of([&] { parse_rule_file(c.yaml, "conf/rate_limits.yaml"); });
    EXPECT_EQ(message.rfind("conf/rate_limits.yaml", 0), 0u) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << "yaml:\n"
                                                           << c.yaml << "message: " << message;
  }
}

TEST(RuleFile, TheFileIsOptionalAndNamedBySettings) {
  test::TempDir dir("gatewayd-rules");
  Settings settings;
  settings.config_dir = dir.path().string();
  EXPECT_EQ(rule_file_path(settings), (dir / "rate_limits.yaml").string());
  EXPECT_TRUE(load_rule_file(settings).empty());  // missing: no file rules
  EXPECT_FALSE(load_rule_file((dir / "rate_limits.yaml").string()));

  dir.write_file("rate_limits.yaml",
                 "rules:\n  - {rule_name: a, limit_type: global, max_requests: 7}\n");
  const auto specs = load_rule_file(settings);
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].max_requests, 7u);

  dir.write_file("other.yaml", "rules:\n  - {rule_name: a, limit_type: global}\n");
  settings.raw["RATE_LIMIT_RULES_FILE"] = "other.yaml";
  const std::string message = error_of([&] { load_rule_file(settings); });
  EXPECT_NE(message.find((dir / "other.yaml").string() + " rules[0]"), std::string::npos)
      << message;

  settings.raw["RATE_LIMIT_RULES_FILE"] = "";
  EXPECT_EQ(rule_file_path(settings), "");
  EXPECT_TRUE(load_rule_file(settings).empty());

  // An absolute path is used as it is.
  settings.raw["RATE_LIMIT_RULES_FILE"] = (dir / "rate_limits.yaml").string();
  settings.config_dir = "/nonexistent";
  EXPECT_EQ(load_rule_file(settings).size(), 1u);

  // A folder where the file should be is an error, not "no rules".
  std::filesystem::create_directories(dir / "folder.yaml");
  EXPECT_NE(error_of([&] { load_rule_file((dir / "folder.yaml").string()); }).find("folder.yaml"),
            std::string::npos);
}

TEST(RuleMerge, TableRowsWinOnTheSameName) {
  const std::vector<RateLimitRuleSpec> file{spec("shared", 10), spec("file-only", 20),
                                            spec("switched-off", 30)};
  const std::vector<RateLimitRuleSpec> table{spec("shared", 99), spec("table-only", 40),
                                             spec("switched-off", 30, "", false)};
  const auto merged = merge_rule_specs(file, table);
  ASSERT_EQ(merged.size(), 4u);
  EXPECT_EQ(merged[0].rule_name, "shared");
  EXPECT_EQ(merged[0].max_requests, 99u);
  EXPECT_EQ(merged[1].rule_name, "table-only");
  EXPECT_EQ(merged[2].rule_name, "switched-off");
  EXPECT_FALSE(merged[2].is_active);
  EXPECT_EQ(merged[3].rule_name, "file-only");
  // An inactive table row switches the file rule off.
  const auto table_rules = RuleTable::build(merged);
  std::vector<std::string> names;
  for (const auto& r : table_rules->rules()) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"shared", "table-only", "file-only"}));
}

TEST(RuleMerge, ServicePublishesTheMergeOfBothSources) {
  RateLimitSettings settings;
  auto service = std::make_shared<RateLimitService>(settings, nullptr);
  const auto g0 = service->rules_generation();
  service->set_file_rules({spec("a", 1, "/a/**"), spec("b", 2)});
  EXPECT_GT(service->rules_generation(), g0);
  ASSERT_EQ(service->rules()->rules().size(), 2u);

  service->set_table_rules({spec("b", 50)});
  auto rules = service->rules()->rules();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].name, "b");
  EXPECT_EQ(rules[0].limit, 50u);
  EXPECT_EQ(rules[1].name, "a");

  // A reload of the file keeps the table rows, and the other way round.
  service->set_file_rules({spec("c", 3)});
  rules = service->rules()->rules();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].name, "b");
  EXPECT_EQ(rules[1].name, "c");
  service->set_table_rules({});
  rules = service->rules()->rules();
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].name, "c");

  // A merge that does not build leaves everything as it was.
  std::vector<RateLimitRuleSpec> too_many;
  for (std::size_t i = 0; i <= RuleTable::kMaxRules; ++i) {
    too_many.push_back(spec("r" + std::to_string(i), 1));
  }
  const auto before = service->rules_generation();
  EXPECT_THROW(service->set_table_rules(too_many), std::invalid_argument);
  EXPECT_EQ(service->rules_generation(), before);
  service->set_file_rules({spec("d", 4)});
  ASSERT_EQ(service->rules()->rules().size(), 1u);
  EXPECT_EQ(service->rules()->rules()[0].name, "d");
}

TEST(RateLimitReadiness, DegradedTextFollowsTheFailureMode) {
  RateLimitSettings settings;
  const std::pair<FailureMode, const char*> modes[] = {
      {FailureMode::kLocal, "redis unavailable, local fallback"},
      {FailureMode::kOpen, "redis unavailable, failing open"},
      {FailureMode::kClosed, "redis unavailable, failing closed"}};
  for (const auto& [mode, text] : modes) {
    settings.failure_mode = mode;
    RateLimitService service(settings, nullptr);
    EXPECT_EQ(service.degraded_text(), text);
  }
}

}  // namespace
}  // namespace gatewayd::ratelimit
