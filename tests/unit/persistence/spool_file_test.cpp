#include "persistence/spool_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"

namespace gatewayd::persistence {
namespace {

using test::TempDir;

Record request(std::string id) {
  RequestRecord r;
  r.request_id = std::move(id);
  r.method = "GET";
  r.path = "/x";
  return r;
}

std::vector<std::string> ids(const SpoolFile::ReadResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.entries) out.push_back(std::get<RequestRecord>(e.record).request_id);
  return out;
}

std::vector<std::string> read_all(const SpoolFile& spool) {
  auto r = spool.read(spool.data_begin(), 1'000'000);
  EXPECT_FALSE(r.io_error);
  return ids(r);
}

TEST(SpoolFile, AppendsReadsAndSurvivesReopen) {
  TempDir dir("gw-spool");
  const auto path = dir / "sub/records.spool";
  std::string generation;
  {
    SpoolFile spool(path, 1 << 20);
    EXPECT_TRUE(spool.empty());
    generation = spool.generation();
    EXPECT_EQ(generation.size(), 32u);
    std::vector<Record> batch = {request("a"), request("b")};
    EXPECT_EQ(spool.append(batch, true), SpoolFile::AppendResult::kOk);
    EXPECT_EQ(spool.append(request("c"), false), SpoolFile::AppendResult::kOk);
    EXPECT_TRUE(spool.sync());
    EXPECT_EQ(spool.pending_records(), 3u);
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{"a", "b", "c"}));

    // Reads are resumable: next_offset / end_offset chain.
    auto first = spool.read(spool.data_begin(), 2);
    EXPECT_EQ(ids(first), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(first.entries[1].end_offset, first.next_offset);
    auto rest = spool.read(first.next_offset, 10);
    EXPECT_EQ(ids(rest), (std::vector<std::string>{"c"}));
    EXPECT_EQ(rest.next_offset, spool.end_offset());
  }
  SpoolFile reopened(path, 1 << 20);
  EXPECT_EQ(reopened.generation(), generation);
  EXPECT_EQ(reopened.recovered_records(), 3u);
  EXPECT_EQ(reopened.discarded_tail_bytes(), 0u);
  EXPECT_EQ(read_all(reopened), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(SpoolFile, TornTailIsSkippedAndKeptAside) {
  TempDir dir("gw-spool");
  const auto path = dir / "records.spool";
  std::uint64_t good_end = 0;
  {
    SpoolFile spool(path, 1 << 20);
    std::vector<Record> batch = {request("a"), request("b")};
    spool.append(batch, true);
    good_end = spool.end_offset();
    spool.append(request("c"), true);
  }
  // A crash in the middle of writing "c": only part of its frame reached the disk.
  const auto full = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, full - 5);

  SpoolFile spool(path, 1 << 20);
  EXPECT_EQ(spool.recovered_records(), 2u);
  EXPECT_EQ(spool.discarded_tail_bytes(), full - 5 - good_end);
  EXPECT_EQ(std::filesystem::file_size(path), good_end);
  EXPECT_EQ(read_all(spool), (std::vector<std::string>{"a", "b"}));
  bool kept_aside = false;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    kept_aside |= e.path().filename().string().rfind("records.spool.torn-", 0) == 0;
  }
  EXPECT_TRUE(kept_aside);
  // Appending after recovery continues cleanly.
  EXPECT_EQ(spool.append(request("d"), true), SpoolFile::AppendResult::kOk);
  EXPECT_EQ(read_all(spool), (std::vector<std::string>{"a", "b", "d"}));
}

TEST(SpoolFile, CorruptChecksumEndsTheGoodPart) {
  TempDir dir("gw-spool");
  const auto path = dir / "records.spool";
  std::uint64_t second = 0;
  {
    SpoolFile spool(path, 1 << 20);
    spool.append(request("a"), true);
    second = spool.end_offset();
    spool.append(request("b"), true);
    spool.append(request("c"), true);
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(second + SpoolFile::kFrameHeaderBytes + 3));
    f.put('#');
  }
  SpoolFile spool(path, 1 << 20);
  EXPECT_EQ(read_all(spool), (std::vector<std::string>{"a"}));
  EXPECT_GT(spool.discarded_tail_bytes(), 0u);
}

TEST(SpoolFile, ForeignFileIsMovedAsideNotReplayed) {
  TempDir dir("gw-spool");
  dir.write_file("records.spool", "this is not a spool file at all, just some text\n");
  SpoolFile spool(dir / "records.spool", 1 << 20);
  EXPECT_TRUE(spool.empty());
  int aside = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    aside += e.path().filename().string().rfind("records.spool.corrupt-", 0) == 0;
  }
  EXPECT_EQ(aside, 1);
}

TEST(SpoolFile, EmptyFileFromACrashAtCreationIsANewSpool) {
  TempDir dir("gw-spool");
  dir.write_file("records.spool", "");
  SpoolFile spool(dir / "records.spool", 1 << 20);
  EXPECT_TRUE(spool.empty());
  EXPECT_EQ(spool.append(request("a"), true), SpoolFile::AppendResult::kOk);
}

TEST(SpoolFile, RespectsMaxBytesAllOrNothing) {
  TempDir dir("gw-spool");
  SpoolFile spool(dir / "records.spool", 400);
  int accepted = 0;
  while (spool.append(request("r" + std::to_string(accepted)), false) ==
         SpoolFile::AppendResult::kOk) {
    ++accepted;
    ASSERT_LT(accepted, 100);
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LE(spool.pending_bytes(), 400u);
  const auto before = spool.pending_records();
  std::vector<Record> batch = {request("x"), request("y")};
  EXPECT_EQ(spool.append(batch, false), SpoolFile::AppendResult::kFull);
  EXPECT_EQ(spool.pending_records(), before);
}

TEST(SpoolFile, TruncatesOnlyWhenNothingWasAppendedSince) {
  TempDir dir("gw-spool");
  SpoolFile spool(dir / "records.spool", 1 << 20);
  spool.append(request("a"), true);
  const auto replayed_to = spool.end_offset();
  spool.append(request("late"), true);  // spilled while a replay was running
  const auto old_generation = spool.generation();
  EXPECT_FALSE(spool.truncate_if_at(replayed_to));
  EXPECT_EQ(read_all(spool), (std::vector<std::string>{"a", "late"}));
  EXPECT_TRUE(spool.truncate_if_at(spool.end_offset()));
  EXPECT_TRUE(spool.empty());
  EXPECT_NE(spool.generation(), old_generation);
  EXPECT_EQ(std::filesystem::file_size(dir / "records.spool"), SpoolFile::kHeaderBytes);
}

TEST(SpoolFile, ReadsAcrossItsReadWindowAndRecordsLargerThanIt) {
  TempDir dir("gw-spool");
  const auto path = dir / "records.spool";
  std::vector<std::string> expected;
  {
    SpoolFile spool(path, 64 << 20);
    std::vector<Record> batch;
    for (int i = 0; i < 6000; ++i) {
      if (i == 3000) {
        RequestRecord big;
        big.request_id = "big";
        big.path = std::string(3 << 20, 'x');  // larger than the 1 MiB read window
        batch.push_back(big);
        expected.push_back("big");
      }
      batch.push_back(request("w" + std::to_string(i)));
      expected.push_back("w" + std::to_string(i));
    }
    ASSERT_EQ(spool.append(batch, true), SpoolFile::AppendResult::kOk);
  }
  SpoolFile spool(path, 64 << 20);
  EXPECT_EQ(spool.recovered_records(), expected.size());
  EXPECT_EQ(spool.discarded_tail_bytes(), 0u);
  std::vector<std::string> got;
  std::uint64_t offset = spool.data_begin();
  while (true) {
    auto r = spool.read(offset, 333);
    ASSERT_FALSE(r.io_error);
    if (r.entries.empty()) break;
    for (const auto& id : ids(r)) got.push_back(id);
    offset = r.next_offset;
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(offset, spool.end_offset());
}

}  // namespace
}  // namespace gatewayd::persistence
