#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "embedded_broker.h"
#include "orderflow/testing/support.h"

namespace orderflow::broker {
namespace {

TEST(TopicSpec, NameAlone) {
  auto spec = parse_topic_spec("orders.v1", 3);
  EXPECT_EQ(spec.name, "orders.v1");
  EXPECT_EQ(spec.partitions, 3);
}

TEST(TopicSpec, NameWithPartitions) {
  auto spec = parse_topic_spec("orders.v1.dlt:6", 3);
  EXPECT_EQ(spec.name, "orders.v1.dlt");
  EXPECT_EQ(spec.partitions, 6);
}

TEST(TopicSpec, RejectsBadSpecs) {
  for (const char* bad : {"", ":3", "orders:", "orders:0", "orders:-1", "orders:x", "orders:3x"}) {
    EXPECT_THROW(parse_topic_spec(bad, 3), std::invalid_argument) << bad;
  }
}

TEST(WriteFileAtomically, ReplacesTheWholeFile) {
  testing::TempDir dir;
  auto path = dir.path() / "broker.bootstrap";
  write_file_atomically(path, "first-longer-content\n");
  write_file_atomically(path, "127.0.0.1:1\n");
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "127.0.0.1:1\n");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
  }
  EXPECT_EQ(files, 1u) << "no temporary file left behind";
}

TEST(WriteFileAtomically, FailsLoudlyWhenTheDirectoryIsMissing) {
  testing::TempDir dir;
  EXPECT_THROW(write_file_atomically(dir.path() / "missing" / "f", "x"), std::runtime_error);
}

}  // namespace
}  // namespace orderflow::broker
