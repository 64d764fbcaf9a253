#include "embedded_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace orderflow::broker {

TopicSpec parse_topic_spec(std::string_view text, int default_partitions) {
  TopicSpec spec;
  spec.partitions = default_partitions;
  auto colon = text.rfind(':');
  std::string_view name = text;
  if (colon != std::string_view::npos) {
    name = text.substr(0, colon);
    auto count = text.substr(colon + 1);
    int partitions = 0;
    auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), partitions);
    if (ec != std::errc{} || end != count.data() + count.size() || partitions < 1) {
      throw std::invalid_argument("topic '" + std::string(text) +
                                  "': partitions must be a positive integer");
    }
    spec.partitions = partitions;
  }
  if (name.empty()) throw std::invalid_argument("topic '" + std::string(text) + "': empty name");
  if (spec.partitions < 1) throw std::invalid_argument("partitions must be a positive integer");
  spec.name = std::string(name);
  return spec;
}

struct EmbeddedBroker::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
};

EmbeddedBroker::EmbeddedBroker(int brokers) : impl_(std::make_unique<Impl>()) {
  if (brokers < 1) throw std::runtime_error("embedded broker: brokers must be >= 1");
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The host handle only carries the mock cluster; its own chatter is noise.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  impl_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (impl_->rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("embedded broker: ") + err);
  }
  impl_->cluster = rd_kafka_mock_cluster_new(impl_->rk, brokers);
  if (impl_->cluster == nullptr) {
    rd_kafka_destroy(impl_->rk);
    throw std::runtime_error("embedded broker: rd_kafka_mock_cluster_new failed");
  }
}

EmbeddedBroker::~EmbeddedBroker() {
  rd_kafka_mock_cluster_destroy(impl_->cluster);
  rd_kafka_destroy(impl_->rk);
}

std::string EmbeddedBroker::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

void EmbeddedBroker::create_topic(const std::string& name, int partitions) {
  // Replication factor 1: the mock cluster does not replicate anyway.
  auto err = rd_kafka_mock_topic_create(impl_->cluster, name.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("embedded broker: create topic " + name + ": " +
                             rd_kafka_err2str(err));
  }
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  auto tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw std::runtime_error("cannot rename " + tmp.string() + " to " + path.string());
  }
}

}  // namespace orderflow::broker
