#include "upstream/sliding_window.hpp"

#include <algorithm>

namespace gatewayd::upstream {

namespace {
// Word layout: slot (24 bits) | total (20 bits) | marked (20 bits). Slots are compared modulo
// 2^24, so a bucket is mistaken for current only if untouched for exactly 2^24 bucket lengths.
constexpr std::uint64_t kSlotBits = 24;
constexpr std::uint64_t kCountBits = 20;
constexpr std::uint64_t kSlotMask = (1ULL << kSlotBits) - 1;
constexpr std::uint64_t kCountMask = (1ULL << kCountBits) - 1;

constexpr std::uint64_t pack(std::uint64_t slot, std::uint64_t total, std::uint64_t marked) {
  return ((slot & kSlotMask) << (2 * kCountBits)) | ((total & kCountMask) << kCountBits) |
         (marked & kCountMask);
}
constexpr std::uint64_t slot_bits(std::uint64_t w) {
  return w >> (2 * kCountBits);
}
constexpr std::uint64_t total_bits(std::uint64_t w) {
  return (w >> kCountBits) & kCountMask;
}
constexpr std::uint64_t marked_bits(std::uint64_t w) {
  return w & kCountMask;
}

std::int64_t bucket_length(std::chrono::milliseconds window) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(window).count();
  return std::max<std::int64_t>(1, ns / static_cast<std::int64_t>(SlidingWindow::kBuckets));
}
}  // namespace

SlidingWindow::SlidingWindow(std::chrono::milliseconds window) noexcept
    : bucket_ns_(bucket_length(window)) {}

std::int64_t SlidingWindow::slot_of(Clock::time_point now) const noexcept {
  return to_ns(now) / bucket_ns_.load(std::memory_order_relaxed);
}

void SlidingWindow::add(Clock::time_point now, std::uint32_t total, std::uint32_t marked) noexcept {
  const auto slot = static_cast<std::uint64_t>(slot_of(now)) & kSlotMask;
  auto& bucket = buckets_[slot % kBuckets];
  std::uint64_t old = bucket.load(std::memory_order_relaxed);
  for (;;) {
    std::uint64_t t = total, m = marked;
    if (slot_bits(old) == slot) {
      t = std::min<std::uint64_t>(kMaxCount, total_bits(old) + total);
      m = std::min<std::uint64_t>(kMaxCount, marked_bits(old) + marked);
    }
    if (bucket.compare_exchange_weak(old, pack(slot, t, m), std::memory_order_relaxed)) return;
  }
}

SlidingWindow::Counts SlidingWindow::sum(Clock::time_point now) const noexcept {
  const auto slot = static_cast<std::uint64_t>(slot_of(now)) & kSlotMask;
  Counts c;
  for (const auto& bucket : buckets_) {
    const std::uint64_t w = bucket.load(std::memory_order_relaxed);
    const std::uint64_t age = (slot - slot_bits(w)) & kSlotMask;
    if (age < kBuckets) {
      c.total += total_bits(w);
      c.marked += marked_bits(w);
    }
  }
  return c;
}

void SlidingWindow::reset() noexcept {
  for (auto& bucket : buckets_) bucket.store(0, std::memory_order_relaxed);
}

void SlidingWindow::set_window(std::chrono::milliseconds window) noexcept {
  bucket_ns_.store(bucket_length(window), std::memory_order_relaxed);
  reset();
}

std::chrono::milliseconds SlidingWindow::window() const noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(
      bucket_ns_.load(std::memory_order_relaxed) * static_cast<std::int64_t>(kBuckets)));
}

}  // namespace gatewayd::upstream
