// The committed .env.example, bundled profiles and docs/CONFIGURATION.md must equal what the
// settings table produces. Run the test with GATEWAYD_UPDATE_GENERATED=1 to rewrite them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gatewayd/settings.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd {
namespace {

std::filesystem::path source_dir() {
#ifdef GATEWAYD_SOURCE_DIR
  return GATEWAYD_SOURCE_DIR;
#else
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
#endif
}

void check_generated(const std::string& relative, const std::string& expected) {
  const auto path = source_dir() / relative;
  if (const char* update = std::getenv("GATEWAYD_UPDATE_GENERATED");
      update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << expected;
  }
  const std::string actual = test::read_whole_file(path);
  if (actual == expected) return;
  // Report the first differing line rather than two whole files.
  std::size_t line = 1, a = 0, e = 0;
  while (true) {
    const auto a_end = std::min(actual.find('\n', a), actual.size());
    const auto e_end = std::min(expected.find('\n', e), expected.size());
    const auto a_line = actual.substr(std::min(a, actual.size()), a_end - std::min(a, a_end));
    const auto e_line = expected.substr(std::min(e, expected.size()), e_end - std::min(e, e_end));
    if (a_line != e_line || a >= actual.size() || e >= expected.size()) {
      ADD_FAILURE() << relative << ":" << line << " differs from the settings table\n"
                    << "  committed: " << (a < actual.size() ? a_line : "<end of file>") << "\n"
                    << "  generated: " << (e < expected.size() ? e_line : "<end of file>")
                    << "\nRegenerate with GATEWAYD_UPDATE_GENERATED=1 unit_config "
                       "--gtest_filter='GeneratedFiles.*'";
      return;
    }
    a = a_end + 1;
    e = e_end + 1;
    ++line;
  }
}

TEST(GeneratedFiles, EnvExample) {
  check_generated(".env.example", env_example_text());
}
TEST(GeneratedFiles, DevProfile) {
  check_generated(".env.dev", env_profile_text("dev"));
}
TEST(GeneratedFiles, ProdProfile) {
  check_generated(".env.prod", env_profile_text("prod"));
}
TEST(GeneratedFiles, ConfigurationReference) {
  check_generated("docs/CONFIGURATION.md", configuration_reference_text());
}

TEST(GeneratedFiles, ExampleListsEveryVariableCommentedOut) {
  const std::string text = env_example_text();
  // Loading the example as .env changes nothing: every assignment is commented out.
  test::TempDir dir{"gatewayd-example"};
  dir.write_file(".env", text);
  const auto from_example = load_settings({}, dir.path().string(), {});
  const auto defaults = load_settings({}, (dir.path() / "nowhere").string(), {});
  EXPECT_EQ(from_example.raw, defaults.raw);
  EXPECT_NE(text.find("#PORT=8001\n"), std::string::npos);
  EXPECT_NE(text.find("#JWT_SECRET_KEY=\n"), std::string::npos);
  for (std::size_t start = 0; start < text.size();) {
    const auto end = text.find('\n', start);
    const auto line = text.substr(start, end - start);
    if (!line.empty()) {
      EXPECT_EQ(line.front(), '#') << line;
    }
    // Comment lines wrap at 100 columns; only a long default value may exceed it.
    if (line.find('=') == std::string::npos) {
      EXPECT_LE(line.size(), 100u) << line;
    }
    start = end == std::string::npos ? text.size() : end + 1;
  }
}

}  // namespace
}  // namespace gatewayd
