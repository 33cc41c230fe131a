#include "clients/redis_reader.hpp"

#include <hiredis/hiredis.h>

#include <new>

namespace gatewayd {

namespace {

// Children are built in place inside their parent's element vector (sized when the array
// header is read and never resized afterwards), so only the root is heap allocated and freeing
// the root frees the whole tree: hiredis only ever frees the root object.
RedisReply* place(const redisReadTask* task) {
  if (task->parent != nullptr) {
    auto* parent = static_cast<RedisReply*>(task->parent->obj);
    return &parent->elements[static_cast<std::size_t>(task->idx)];
  }
  return new (std::nothrow) RedisReply();
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  RedisReply* r = place(task);
  if (r == nullptr) return nullptr;
  switch (task->type) {
    case REDIS_REPLY_ERROR:
      r->type = RedisReplyType::kError;
      break;
    case REDIS_REPLY_STATUS:
      r->type = RedisReplyType::kStatus;
      break;
    default:
      r->type = RedisReplyType::kString;
      break;
  }
  r->str.assign(str, len);
  return r;
}

void* create_array(const redisReadTask* task, int elements) {
  auto* limit = static_cast<std::size_t*>(task->privdata);
  if (elements < 0 || (limit != nullptr && static_cast<std::size_t>(elements) > *limit)) {
    return nullptr;  // the reader reports an error and drops the partial tree
  }
  RedisReply* r = place(task);
  if (r == nullptr) return nullptr;
  r->type = RedisReplyType::kArray;
  r->elements.resize(static_cast<std::size_t>(elements));
  return r;
}

void* create_integer(const redisReadTask* task, long long value) {
  RedisReply* r = place(task);
  if (r == nullptr) return nullptr;
  r->type = RedisReplyType::kInteger;
  r->integer = value;
  return r;
}

void* create_nil(const redisReadTask* task) {
  RedisReply* r = place(task);
  if (r == nullptr) return nullptr;
  r->type = RedisReplyType::kNil;
  return r;
}

void free_object(void* obj) {
  delete static_cast<RedisReply*>(obj);
}

redisReplyObjectFunctions kFunctions{create_string, create_array, create_integer, create_nil,
                                     free_object};

}  // namespace

RedisReader::RedisReader(std::size_t max_elements) : max_elements_(max_elements) {
  reset();
}

RedisReader::~RedisReader() {
  if (reader_ != nullptr) redisReaderFree(reader_);
}

void RedisReader::reset() {
  if (reader_ != nullptr) redisReaderFree(reader_);
  reader_ = redisReaderCreateWithFunctions(&kFunctions);
  if (reader_ == nullptr) throw std::bad_alloc();
  // Read tasks see the reader's privdata: the element bound travels that way.
  reader_->privdata = &max_elements_;
}

bool RedisReader::feed(const char* data, std::size_t size) {
  return redisReaderFeed(reader_, data, size) == REDIS_OK;
}

RedisReader::Status RedisReader::next(RedisReply& out) {
  void* obj = nullptr;
  if (redisReaderGetReply(reader_, &obj) != REDIS_OK) return Status::kError;
  if (obj == nullptr) return Status::kNeedMore;
  auto* reply = static_cast<RedisReply*>(obj);
  out = std::move(*reply);
  delete reply;
  return Status::kReply;
}

std::string RedisReader::error() const {
  return reader_ != nullptr && reader_->err != 0 ? std::string(reader_->errstr) : std::string();
}

}  // namespace gatewayd
