#pragma once
// A private temporary directory for one test (or one server launched by a test), removed with
// everything in it when the object goes away.
#include <filesystem>
#include <string>
#include <string_view>

namespace gatewayd::test {

class TempDir {
 public:
  // Creates a fresh directory under $TMPDIR (or /tmp) named "<prefix>-XXXXXX".
  // Throws std::runtime_error when the directory cannot be created.
  explicit TempDir(std::string_view prefix = "gatewayd-test");
  // Same, under `root` instead of $TMPDIR (e.g. /dev/shm for a server's data on tmpfs).
  TempDir(std::string_view prefix, const std::filesystem::path& root);
  ~TempDir();  // removes the tree; errors are ignored

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  // path() / relative; creates nothing.
  std::filesystem::path operator/(std::string_view relative) const { return path_ / relative; }

  // Writes `content` to path()/relative (parent folders created), replacing any old file, and
  // returns the full path. Throws std::runtime_error on failure.
  std::filesystem::path write_file(std::string_view relative, std::string_view content) const;
  // Whole content of path()/relative, or an empty string when it does not exist.
  std::string read_file(std::string_view relative) const;

  // Keeps the directory on destruction (to inspect a failing test's files).
  void keep() noexcept { keep_ = true; }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

// Reads a whole file; empty string when missing or unreadable.
std::string read_whole_file(const std::filesystem::path& path);

}  // namespace gatewayd::test
