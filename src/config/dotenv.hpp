#pragma once
// Parser for .env files: KEY=VALUE lines, `#` comments, blank lines, an optional `export `
// prefix, single-quoted (literal) and double-quoted (\n \t \\ \" escapes) values. No variable
// expansion: a `$` is an ordinary character.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gatewayd {

struct DotenvEntry {
  std::string key;
  std::string value;
  std::size_t line = 0;  // 1-based
};

// Throws SettingsError "<file>:<line>: <what>" for a malformed line. The message never
// contains the line's value (it may be a secret).
std::vector<DotenvEntry> parse_dotenv(std::string_view text, std::string_view file_name);

}  // namespace gatewayd
