#include "filters/rate_limit/redis_bucket_batcher.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/container/small_vector.hpp>

#include "clients/redis_slot.hpp"
#include "filters/rate_limit/redis_bucket_script.hpp"

namespace gatewayd::ratelimit {

namespace asio = boost::asio;

std::shared_ptr<RedisBucketBatcher> RedisBucketBatcher::create(std::shared_ptr<RedisClient> redis,
                                                               std::size_t max_decisions) {
  return std::shared_ptr<RedisBucketBatcher>(
      new RedisBucketBatcher(std::move(redis), std::max<std::size_t>(1, max_decisions)));
}

asio::awaitable<BucketVerdict> RedisBucketBatcher::decide(BucketCall call,
                                                          Clock::time_point deadline,
                                                          std::span<TokenBucketResult> out,
                                                          std::span<std::uint32_t> granted) {
  const std::uint16_t slot = redis_->cluster() && !call.keys.empty()
                                 ? redis_key_slot(call.keys.front())
                                 : std::uint16_t{0};
  std::shared_ptr<Batch>& open = open_[slot];
  if (!open || open->decisions >= max_decisions_) {
    open = std::make_shared<Batch>(redis_->executor());
    open->deadline = deadline;
    // Posted, not spawned here (co_spawn would start it at once, on this thread): the sender
    // runs after the handlers already due in this turn, so their decisions join this call.
    asio::post(redis_->executor(), [self = shared_from_this(), slot, batch = open] {
      asio::co_spawn(self->redis_->executor(), send(self, slot, batch), asio::detached);
    });
  }
  const std::shared_ptr<Batch> batch = open;
  const std::size_t offset = batch->reply_size;
  for (const std::string_view k : call.keys) batch->keys.emplace_back(k);
  RedisBucketScript::append_decision(batch->args, call.params, call.cost, call.extras);
  batch->reply_size += RedisBucketScript::reply_width(call.params.size());
  ++batch->decisions;

  if (!batch->done) {
    co_await batch->signal.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  BucketVerdict verdict;
  if (!batch->result.ok()) {
    verdict.failure =
        batch->result.message.empty() ? batch->result.ec.message() : batch->result.message;
    co_return verdict;
  }
  const auto parsed = RedisBucketScript::parse(batch->result.reply, offset, out, granted);
  if (!parsed) {
    verdict.failure = "unexpected reply from the rate limit script";
    co_return verdict;
  }
  verdict.allowed = *parsed;
  co_return verdict;
}

asio::awaitable<void> RedisBucketBatcher::send(std::shared_ptr<RedisBucketBatcher> self,
                                               std::uint16_t slot, std::shared_ptr<Batch> batch) {
  // Closed from here on: later decisions open the next call.
  if (auto it = self->open_.find(slot); it != self->open_.end() && it->second == batch) {
    self->open_.erase(it);
  }
  batch->args[0] = std::to_string(batch->decisions);
  boost::container::small_vector<std::string_view, 64> keys(batch->keys.begin(), batch->keys.end());
  boost::container::small_vector<std::string_view, 128> args(batch->args.begin(),
                                                             batch->args.end());
  ++self->calls_;
  try {
    batch->result =
        co_await self->redis_->eval(RedisBucketScript::script(), keys, args, batch->deadline);
  } catch (const std::exception& e) {
    // Waiters must always wake: a failure here becomes theirs.
    batch->result = RedisResult::failure(RedisErrc::kInvalidCommand, e.what());
  }
  batch->done = true;
  batch->signal.cancel();
}

}  // namespace gatewayd::ratelimit
