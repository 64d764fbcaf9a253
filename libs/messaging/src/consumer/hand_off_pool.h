#pragma once

#include <functional>
#include <memory>
#include <mutex>

namespace boost::asio {
class thread_pool;
}

namespace orderflow::messaging::consumer {

/// The threads that run handed-off handler work (HandlerResult::handed_off). Started on the
/// first submit, so a consumer that never hands off has no idle threads. Thread-safe.
class HandOffPool {
 public:
  explicit HandOffPool(int threads);
  ~HandOffPool();
  HandOffPool(const HandOffPool&) = delete;
  HandOffPool& operator=(const HandOffPool&) = delete;

  /// Runs `task` on a pool thread.
  void submit(std::function<void()> task);
  /// Waits until every submitted task has finished; later submits are refused (dropped).
  void join();

 private:
  int threads_;
  std::mutex mutex_;
  bool joined_ = false;
  std::unique_ptr<boost::asio::thread_pool> pool_;
};

}  // namespace orderflow::messaging::consumer
