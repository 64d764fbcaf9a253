// ops-service's reading of dead letters: dead_letter_from_record (the dlq.* headers and the
// eventId/eventType headers), make_replay_record, make_unpark_record and the headers' JSON
// form (headers_to_json / headers_from_json, as stored by ops-service). Input: header lines
// "name=value" ('\n'-separated), an empty line, then the record value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "domain/dead_letter.h"

namespace m = orderflow::messaging;
namespace ops = orderflow::ops;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  m::ConsumedRecord record;
  record.topic = "orders.v1.order-service.dlt";
  record.key = "42";
  while (!input.empty()) {
    auto newline = input.find('\n');
    auto line = input.substr(0, newline);
    input.remove_prefix(newline == std::string_view::npos ? input.size() : newline + 1);
    if (line.empty()) break;
    auto eq = line.find('=');
    record.headers.push_back(
        {std::string(line.substr(0, eq)),
         eq == std::string_view::npos ? std::string{} : std::string(line.substr(eq + 1))});
  }
  record.value = std::string(input);
  auto letter = ops::dead_letter_from_record(record, orderflow::Clock::TimePoint{});
  auto replay = ops::make_replay_record(letter);
  (void)replay.headers.size();
  auto json = ops::headers_to_json(letter.headers);
  auto back = ops::headers_from_json(json);
  if (back.size() != letter.headers.size()) __builtin_trap();
  // What ops-service reads back from its store: any JSON, refused entries ignored.
  auto parsed = nlohmann::json::parse(record.value, nullptr, false);
  if (!parsed.is_discarded()) (void)ops::headers_from_json(parsed);
  (void)ops::make_unpark_record(record.topic, record.key, letter.consumer_group,
                                letter.attempts.value_or(0));
  return 0;
}
