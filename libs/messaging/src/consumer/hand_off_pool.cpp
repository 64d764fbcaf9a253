#include "consumer/hand_off_pool.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace orderflow::messaging::consumer {

HandOffPool::HandOffPool(int threads) : threads_(threads) {}

HandOffPool::~HandOffPool() { join(); }

void HandOffPool::submit(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (joined_) return;
  if (!pool_) pool_ = std::make_unique<boost::asio::thread_pool>(threads_);
  boost::asio::post(*pool_, std::move(task));
}

void HandOffPool::join() {
  std::unique_ptr<boost::asio::thread_pool> pool;
  {
    std::lock_guard lock(mutex_);
    joined_ = true;
    pool = std::move(pool_);
  }
  if (pool) pool->join();
}

}  // namespace orderflow::messaging::consumer
