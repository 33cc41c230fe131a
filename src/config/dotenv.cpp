#include "config/dotenv.hpp"

#include "gatewayd/settings.hpp"

namespace gatewayd {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool is_key_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool is_key_char(char c) {
  return is_key_start(c) || (c >= '0' && c <= '9');
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

[[noreturn]] void fail(std::string_view file, std::size_t line, std::string_view what) {
  throw SettingsError(std::string(file) + ":" + std::to_string(line) + ": " + std::string(what));
}

// After a closing quote only blanks or a comment may follow.
void expect_end(std::string_view rest, std::string_view file, std::size_t line) {
  rest = trim(rest);
  if (!rest.empty() && rest.front() != '#')
    fail(file, line, "unexpected text after the quoted value");
}

std::string parse_value(std::string_view v, std::string_view file, std::size_t line) {
  v = trim(v);
  if (v.empty()) return {};
  if (v.front() == '\'') {
    const auto close = v.find('\'', 1);
    if (close == std::string_view::npos) fail(file, line, "unterminated single quote");
    expect_end(v.substr(close + 1), file, line);
    return std::string(v.substr(1, close - 1));
  }
  if (v.front() == '"') {
    std::string out;
    for (std::size_t i = 1; i < v.size(); ++i) {
      const char c = v[i];
      if (c == '"') {
        expect_end(v.substr(i + 1), file, line);
        return out;
      }
      if (c == '\\' && i + 1 < v.size()) {
        const char n = v[++i];
        switch (n) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case '\\':
            out += '\\';
            break;
          case '"':
            out += '"';
            break;
          case '$':
            out += '$';
            break;
          default:
            out += '\\';
            out += n;
        }
        continue;
      }
      out += c;
    }
    fail(file, line, "unterminated double quote");
  }
  // Unquoted: a '#' starts a comment only after a blank, so `a#b` keeps its '#'.
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '#' && i > 0 && is_blank(v[i - 1])) {
      v = v.substr(0, i);
      break;
    }
  }
  return std::string(trim(v));
}

}  // namespace

std::vector<DotenvEntry> parse_dotenv(std::string_view text, std::string_view file_name) {
  std::vector<DotenvEntry> entries;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\0') != std::string_view::npos) fail(file_name, line_no, "NUL byte");
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, 7) == "export " || line.substr(0, 7) == "export\t") {
      line = trim(line.substr(7));
    }
    std::size_t k = 0;
    if (line.empty() || !is_key_start(line[0])) fail(file_name, line_no, "expected KEY=VALUE");
    while (k < line.size() && is_key_char(line[k])) ++k;
    std::string_view key = line.substr(0, k);
    std::string_view rest = line.substr(k);
    while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
    if (rest.empty() || rest.front() != '=') {
      fail(file_name, line_no, "expected KEY=VALUE after '" + std::string(key) + "'");
    }
    rest.remove_prefix(1);
    entries.push_back({std::string(key), parse_value(rest, file_name, line_no), line_no});
  }
  return entries;
}

}  // namespace gatewayd
