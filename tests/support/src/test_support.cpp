#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "orderflow/common/uuid.h"
#include "orderflow/testing/support.h"

namespace orderflow::testing {

std::string test_log_level() {
  const char* level = std::getenv("ORDERFLOW_TEST_LOG");
  return level != nullptr ? level : "warn";
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds interval) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(interval);
  }
}

TempDir::TempDir() {
  auto base = std::filesystem::temp_directory_path();
  path_ = base / ("orderflow-test-" + new_uuid());
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string unique_name(const std::string& prefix) {
  return prefix + "-" + std::to_string(::getpid()) + "-" + new_uuid().substr(0, 8);
}

std::uint16_t free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("no free loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

struct EmbeddedBroker::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
};

EmbeddedBroker::EmbeddedBroker(int brokers) : impl_(std::make_unique<Impl>()) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  impl_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (impl_->rk == nullptr) throw std::runtime_error(std::string("mock broker: ") + err);
  impl_->cluster = rd_kafka_mock_cluster_new(impl_->rk, brokers);
  if (impl_->cluster == nullptr) throw std::runtime_error("mock broker: cluster_new failed");
}

EmbeddedBroker::~EmbeddedBroker() {
  if (impl_->cluster != nullptr) rd_kafka_mock_cluster_destroy(impl_->cluster);
  if (impl_->rk != nullptr) rd_kafka_destroy(impl_->rk);
}

std::string EmbeddedBroker::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

void EmbeddedBroker::create_topic(const std::string& topic, int partitions) {
  auto err = rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("mock topic create " + topic + ": " + rd_kafka_err2str(err));
  }
}

void EmbeddedBroker::fail_requests(int api_key, int count, int error_code) {
  std::vector<rd_kafka_resp_err_t> errs(static_cast<std::size_t>(count),
                                        static_cast<rd_kafka_resp_err_t>(error_code));
  rd_kafka_mock_push_request_errors_array(impl_->cluster, static_cast<int16_t>(api_key),
                                          errs.size(), errs.data());
}

void EmbeddedBroker::set_down(bool down) {
  constexpr std::int32_t kAllBrokers = -1;
  auto err = down ? rd_kafka_mock_broker_set_down(impl_->cluster, kAllBrokers)
                  : rd_kafka_mock_broker_set_up(impl_->cluster, kAllBrokers);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(std::string("mock broker set ") + (down ? "down" : "up") + ": " +
                             rd_kafka_err2str(err));
  }
}

double metric_value(const std::string& text, const std::string& name, const std::string& label) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
    if (!label.empty() && line.find(label) == std::string::npos) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

}  // namespace orderflow::testing
