// orderflow-broker: hosts the embedded Kafka-protocol broker for `orderflow up` and dev runs.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "embedded_broker.h"

namespace {

constexpr const char* kBootstrapFile = "broker.bootstrap";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"orderflow-broker: embedded Kafka-protocol broker (librdkafka mock cluster)"};
  std::string data_dir;
  int brokers = 3;
  int default_partitions = 3;
  std::vector<std::string> topic_args;
  app.add_option("--data-dir", data_dir, "directory for broker.bootstrap")->required();
  app.add_option("--brokers", brokers, "number of brokers in the cluster")
      ->check(CLI::PositiveNumber);
  app.add_option("--partitions", default_partitions, "partitions of a topic given without a count")
      ->check(CLI::PositiveNumber);
  app.add_option("--topic", topic_args, "topic to create, NAME[:PARTITIONS] (repeatable)");
  CLI11_PARSE(app, argc, argv);

  // Blocked before librdkafka starts its threads so they inherit the mask and sigwait() below
  // is the only receiver.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::filesystem::path bootstrap_file = std::filesystem::path(data_dir) / kBootstrapFile;
  bool wrote_bootstrap = false;
  try {
    std::vector<orderflow::broker::TopicSpec> topics;
    for (const auto& arg : topic_args) {
      topics.push_back(orderflow::broker::parse_topic_spec(arg, default_partitions));
    }
    std::filesystem::create_directories(data_dir);
    // A file left by a killed broker would point clients at a dead port until we are ready.
    std::filesystem::remove(bootstrap_file);
    orderflow::broker::EmbeddedBroker broker(brokers);
    for (const auto& topic : topics) broker.create_topic(topic.name, topic.partitions);
    const std::string bootstrap = broker.bootstrap_servers();
    // Readers take the file's existence as "broker ready", so it appears only now, whole.
    orderflow::broker::write_file_atomically(bootstrap_file, bootstrap + "\n");
    wrote_bootstrap = true;
    std::cout << "orderflow-broker ready bootstrap=" << bootstrap << " brokers=" << brokers
              << " topics=" << topics.size() << std::endl;

    int signal = 0;
    sigwait(&signals, &signal);
    std::error_code ec;
    std::filesystem::remove(bootstrap_file, ec);
    std::cout << "orderflow-broker stopping signal=" << signal << std::endl;
  } catch (const std::exception& e) {
    std::error_code ec;
    if (wrote_bootstrap) std::filesystem::remove(bootstrap_file, ec);
    std::cerr << "orderflow-broker: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
