#pragma once
// A RecordConsumer for the source tests: it keeps every record and counts rejections by
// reason. Thread-safe (sources call it from their own threads); never blocks.

#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "mscred/connectors/source.h"

namespace mscred::robustness {

//! No `override` on purpose: the non-blocking push is try_push() on some branches and
//! push_for() on others; Collector has both, and whichever the interface declares is
//! the one that overrides.
class Collector : public connectors::RecordConsumer {
 public:
  bool push(connectors::Record&& r) {
    std::lock_guard lock(mutex_);
    records_.push_back(std::move(r));
    return true;
  }
  bool try_push(connectors::Record& r) { return push(std::move(r)); }
  bool push_for(connectors::Record& r, std::chrono::milliseconds) { return push(std::move(r)); }
  void rejected(const char*, connectors::RejectReason reason) {
    std::lock_guard lock(mutex_);
    ++rejects_[reason];
  }
  //! Records plus rejections seen so far.
  size_t events() {
    std::lock_guard lock(mutex_);
    size_t n = records_.size();
    for (auto& [r, c] : rejects_)
      n += c;
    return n;
  }
  //! Waits up to 10 s for `n` events.
  bool wait_for(size_t n) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (events() < n && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return events() >= n;
  }
  std::vector<connectors::Record> records() {
    std::lock_guard lock(mutex_);
    return records_;
  }
  std::map<connectors::RejectReason, size_t> rejects() {
    std::lock_guard lock(mutex_);
    return rejects_;
  }

 private:
  std::mutex mutex_;
  std::vector<connectors::Record> records_;
  std::map<connectors::RejectReason, size_t> rejects_;
};

}  // namespace mscred::robustness
