#pragma once
// The bounded queue between the sources and the worker.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

namespace mscred::daemon {

//! Multi-producer, single-consumer FIFO of at most `capacity` items. Policy when full:
//! push() blocks the producer until there is room (so a source slows down; for Kafka the
//! source pauses its partitions first, see KafkaSource) and nothing is ever dropped;
//! try_push() reports "full" instead. close() wakes everyone: later pushes fail, pops
//! drain what is left and then report "closed". Thread-safe.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  //! Blocks while full; false if the queue is closed (the item is not taken).
  bool push(T&& item) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  //! Never blocks; false (item untouched) if full or closed.
  bool try_push(T& item) {
    std::lock_guard lock(mutex_);
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  //! Waits up to `timeout` for room; false (item untouched) if still full, or closed.
  bool push_for(T& item, std::chrono::steady_clock::duration timeout) {
    std::unique_lock lock(mutex_);
    if (!not_full_.wait_for(lock, timeout, [&] { return closed_ || items_.size() < capacity_; }) ||
        closed_) {
      return false;
    }
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  enum class PopResult { kItem, kTimeout, kClosed };

  //! Waits up to `timeout` for an item. kClosed only once closed and empty.
  PopResult pop_for(T& out, std::chrono::steady_clock::duration timeout) {
    std::unique_lock lock(mutex_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); })) {
      return PopResult::kTimeout;
    }
    if (items_.empty()) return PopResult::kClosed;
    out = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return PopResult::kItem;
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace mscred::daemon
