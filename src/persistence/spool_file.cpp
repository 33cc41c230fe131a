#include "persistence/spool_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <stdexcept>

#include "gatewayd/logging.hpp"
#include "persistence/crc32.hpp"
#include "persistence/record_codec.hpp"

namespace gatewayd::persistence {
namespace {

constexpr std::string_view kMagic = "GWSPOOL1";

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
  }
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return v;
}

std::string new_generation_id() {
  std::random_device rd;
  std::string id;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 4; ++i) {
    std::uint32_t v = rd();
    for (int k = 0; k < 8; ++k) {
      id.push_back(kHex[(v >> (4 * k)) & 0xFU]);
    }
  }
  return id;
}

bool pread_all(int fd, char* buf, std::size_t n, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(r);
  }
  return true;
}

// Reads consecutive frames of [offset, end) through a window of up to kWindow bytes, so a scan
// costs a syscall per window rather than two per record.
class FrameReader {
 public:
  enum class Status { kFrame, kEnd, kBad, kIoError };
  static constexpr std::size_t kWindow = 1 << 20;

  FrameReader(int fd, std::uint64_t offset, std::uint64_t end)
      : fd_(fd), offset_(offset), end_(end) {}

  // kFrame: payload() holds the payload and offset() is just past the frame. kBad: a short,
  // oversized or checksum-failing frame starts at offset().
  Status next() {
    if (offset_ >= end_) {
      return Status::kEnd;
    }
    if (end_ - offset_ < SpoolFile::kFrameHeaderBytes) {
      return Status::kBad;
    }
    if (!fill(SpoolFile::kFrameHeaderBytes)) {
      return Status::kIoError;
    }
    const char* head = buf_.data() + (offset_ - buf_start_);
    const std::uint32_t length = get_u32(head);
    const std::uint32_t checksum = get_u32(head + 4);
    if (length > SpoolFile::kMaxPayloadBytes ||
        end_ - offset_ - SpoolFile::kFrameHeaderBytes < length) {
      return Status::kBad;
    }
    if (!fill(SpoolFile::kFrameHeaderBytes + length)) {
      return Status::kIoError;
    }
    payload_ = std::string_view(buf_.data() + (offset_ - buf_start_) + SpoolFile::kFrameHeaderBytes,
                                length);
    if (crc32(payload_) != checksum) {
      return Status::kBad;
    }
    offset_ += SpoolFile::kFrameHeaderBytes + length;
    return Status::kFrame;
  }
  std::string_view payload() const { return payload_; }
  std::uint64_t offset() const { return offset_; }

 private:
  // Makes the window cover [offset_, offset_ + need).
  bool fill(std::size_t need) {
    if (offset_ >= buf_start_ && offset_ + need <= buf_start_ + buf_len_) {
      return true;
    }
    const std::size_t size =
        static_cast<std::size_t>(std::min<std::uint64_t>(std::max(need, kWindow), end_ - offset_));
    if (buf_.size() < size) {
      buf_.resize(size);
    }
    if (!pread_all(fd_, buf_.data(), size, offset_)) {
      buf_len_ = 0;
      return false;
    }
    buf_start_ = offset_;
    buf_len_ = size;
    return true;
  }

  int fd_;
  std::uint64_t offset_, end_;
  std::string buf_;
  std::uint64_t buf_start_ = 0;
  std::size_t buf_len_ = 0;
  std::string_view payload_;
};

void fsync_parent(const std::filesystem::path& path) {
  int dfd = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string unix_time_suffix() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

}  // namespace

SpoolFile::SpoolFile(std::filesystem::path path, std::uint64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {
  open_and_recover();
}

SpoolFile::~SpoolFile() {
  if (fd_ >= 0) {
    if (dirty_) {
      ::fdatasync(fd_);
    }
    ::close(fd_);
  }
}

void SpoolFile::open_and_recover() {
  std::error_code ec;
  if (!path_.parent_path().empty()) {
    std::filesystem::create_directories(path_.parent_path(), ec);
  }
  const bool existed = std::filesystem::exists(path_, ec);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open spool file " + path_.string() + ": " +
                             std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    throw std::runtime_error("cannot stat spool file " + path_.string());
  }
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (!existed || file_size == 0) {
    if (!start_generation()) {
      throw std::runtime_error("cannot initialise spool file " + path_.string() + ": " +
                               std::strerror(errno));
    }
    fsync_parent(path_);
    return;
  }

  std::string header(kHeaderBytes, '\0');
  bool header_ok = file_size >= kHeaderBytes && pread_all(fd_, header.data(), kHeaderBytes, 0) &&
                   header.compare(0, kMagic.size(), kMagic) == 0 && header.back() == '\n';
  if (!header_ok) {
    // Not a spool we wrote (or its header was torn while being created): keep it aside rather
    // than guess, and start afresh.
    ::close(fd_);
    fd_ = -1;
    auto aside = path_;
    aside += ".corrupt-" + unix_time_suffix();
    std::filesystem::rename(path_, aside, ec);
    logging::app().error("spool {}: unrecognised header, moved aside to {} ({} bytes)",
                         path_.string(), aside.string(), file_size);
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
    if (fd_ < 0) {
      throw std::runtime_error("cannot create spool file " + path_.string());
    }
    if (!start_generation()) {
      throw std::runtime_error("cannot initialise spool file " + path_.string() + ": " +
                               std::strerror(errno));
    }
    fsync_parent(path_);
    return;
  }
  generation_ = header.substr(kMagic.size(), kHeaderBytes - kMagic.size() - 1);

  // Walk the frames; the first one that does not check out ends the good part.
  FrameReader reader(fd_, kHeaderBytes, file_size);
  while (reader.next() == FrameReader::Status::kFrame) {
    ++records_;
  }
  const std::uint64_t offset = reader.offset();
  recovered_records_ = records_;
  size_ = offset;
  if (offset < file_size) {
    discarded_tail_bytes_ = file_size - offset;
    auto torn = path_;
    torn += ".torn-" + unix_time_suffix();
    std::filesystem::path torn_path = torn;
    {
      std::string tail(static_cast<std::size_t>(
                           std::min<std::uint64_t>(discarded_tail_bytes_, kMaxPayloadBytes * 2ULL)),
                       '\0');
      if (pread_all(fd_, tail.data(), tail.size(), offset)) {
        int tfd = ::open(torn_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (tfd >= 0) {
          (void)!::write(tfd, tail.data(), tail.size());
          ::close(tfd);
        }
      }
    }
    if (::ftruncate(fd_, static_cast<off_t>(offset)) != 0) {
      throw std::runtime_error("cannot truncate torn tail of spool file " + path_.string());
    }
    ::fdatasync(fd_);
    logging::app().warn(
        "spool {}: torn or corrupt record at offset {} ({} bytes) skipped and saved to {}; "
        "{} good records kept",
        path_.string(), offset, discarded_tail_bytes_, torn_path.string(), records_);
  }
}

bool SpoolFile::start_generation() {
  std::string generation = new_generation_id();
  std::string header;
  header.reserve(kHeaderBytes);
  header.append(kMagic);
  header.append(generation);
  header.push_back('\n');
  if (::ftruncate(fd_, 0) != 0) {
    return false;
  }
  // From here the old frames are gone: the in-memory view must follow even if the header write
  // fails (an empty file reopens as a fresh spool).
  generation_ = std::move(generation);
  size_ = 0;
  records_ = 0;
  if (!write_all(header) || ::fdatasync(fd_) != 0) {
    ::ftruncate(fd_, 0);
    return false;
  }
  size_ = kHeaderBytes;
  dirty_ = false;
  return true;
}

bool SpoolFile::write_all(const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::write(fd_, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(w);
  }
  return true;
}

SpoolFile::AppendResult SpoolFile::append(std::span<const Record> records, bool sync) {
  if (records.empty()) {
    return AppendResult::kOk;
  }
  // Encoding happens outside the lock: only the write itself is serialised.
  std::string frames;
  std::uint64_t count = 0;
  for (const Record& r : records) {
    std::string payload = encode_record(r);
    if (payload.size() > kMaxPayloadBytes) {
      continue;  // cannot be represented; producers keep fields far below this
    }
    put_u32(frames, static_cast<std::uint32_t>(payload.size()));
    put_u32(frames, crc32(payload));
    frames.append(payload);
    ++count;
  }
  std::lock_guard lock(mutex_);
  if (size_ < kHeaderBytes && !start_generation()) {  // an earlier truncation half failed
    return AppendResult::kIoError;
  }
  if (size_ - kHeaderBytes + frames.size() > max_bytes_) {
    return AppendResult::kFull;
  }
  if (!write_all(frames)) {
    // Never leave a partial frame behind for the next append to follow.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      logging::app().error("spool {}: write failed and the partial frame could not be removed",
                           path_.string());
    }
    return AppendResult::kIoError;
  }
  size_ += frames.size();
  records_ += count;
  dirty_ = true;
  if (sync) {
    if (::fdatasync(fd_) != 0) {
      return AppendResult::kIoError;
    }
    dirty_ = false;
  }
  return AppendResult::kOk;
}

bool SpoolFile::sync() {
  std::lock_guard lock(mutex_);
  if (!dirty_) {
    return true;
  }
  if (::fdatasync(fd_) != 0) {
    return false;
  }
  dirty_ = false;
  return true;
}

SpoolFile::ReadResult SpoolFile::read(std::uint64_t offset, std::size_t max_records) const {
  ReadResult out;
  const std::uint64_t end = end_offset();
  offset = std::max<std::uint64_t>(offset, kHeaderBytes);
  out.next_offset = offset;
  // Frames below `end` were fully written under the lock and are never modified, so they are
  // read without it.
  FrameReader reader(fd_, offset, end);
  while (out.entries.size() < max_records) {
    const FrameReader::Status status = reader.next();
    if (status == FrameReader::Status::kEnd) {
      break;
    }
    if (status != FrameReader::Status::kFrame) {
      out.io_error = true;
      break;
    }
    out.next_offset = reader.offset();
    if (auto record = decode_record(reader.payload())) {
      out.entries.push_back(Entry{std::move(*record), reader.offset()});
    } else {
      ++out.undecodable;
    }
  }
  return out;
}

bool SpoolFile::truncate_if_at(std::uint64_t offset) {
  std::lock_guard lock(mutex_);
  if (offset != size_) {
    return false;
  }
  if (!start_generation()) {
    logging::app().error("spool {}: truncation failed: {}", path_.string(), std::strerror(errno));
    return false;
  }
  return true;
}

std::uint64_t SpoolFile::end_offset() const {
  std::lock_guard lock(mutex_);
  return size_;
}

std::uint64_t SpoolFile::pending_bytes() const {
  std::lock_guard lock(mutex_);
  return size_ < kHeaderBytes ? 0 : size_ - kHeaderBytes;
}

std::uint64_t SpoolFile::pending_records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

}  // namespace gatewayd::persistence
