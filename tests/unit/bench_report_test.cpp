// orderflow-bench's pure parts: callgrind output parsing (make profile) and the report's
// marked sections.
#include <gtest/gtest.h>

#include "callgrind.h"
#include "report.h"

namespace orderflow::bench {
namespace {

TEST(CallgrindTotal, ReadsTheTotalsLineAtTheEventsColumn) {
  const std::string file =
      "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npid: 16330\ncmd:  "
      "/bin/orderflow-broker\npart: 1\n\npositions: line\nevents: Ir Dr\nsummary: 169241 "
      "7\n\nob=(1) /usr/lib/librdkafka.so.1\nfn=(1) 0x4dee0\n0 42573 3\n\ntotals: 169241 7\n";
  EXPECT_EQ(callgrind_total(file), 169241);
  EXPECT_EQ(callgrind_total(file, "Dr"), 7);
  EXPECT_EQ(callgrind_total(file, "Bc"), std::nullopt);
}

// callgrind 3.19 writes a wrapped "summary:" into the last part of a process dumped on request.
TEST(CallgrindTotal, PrefersTotalsOverAWrappedSummary) {
  const std::string file =
      "events: Ir\npart: 3\nsummary: 18446744073709103844\nfn=(1) main\n0 4700\ntotals: 4700\n";
  EXPECT_EQ(callgrind_total(file), 4700);
}

TEST(CallgrindTotal, FallsBackToSummaryAndSumsParts) {
  EXPECT_EQ(callgrind_total("events: Ir\nsummary: 10\n"), 10);
  EXPECT_EQ(callgrind_total("events: Ir\ntotals: 10\ntotals: 5\n"), 15);
  EXPECT_EQ(callgrind_total("events: Ir\nfn=(1) main\n0 3\n"), std::nullopt);
  EXPECT_EQ(callgrind_total(""), std::nullopt);
}

TEST(AnnotateFunctions, ParsesCostFileFunctionAndObject) {
  const std::string output =
      "--------------------------------------------------------------------------------\n"
      "Profile data file 'callgrind.out.broker.2' (creator: callgrind-3.19.0)\n"
      "--------------------------------------------------------------------------------\n"
      "Ir               \n"
      "--------------------------------------------------------------------------------\n"
      "278,531 (100.0%)  PROGRAM TOTALS\n\n"
      "--------------------------------------------------------------------------------\n"
      "Ir               file:function\n"
      "--------------------------------------------------------------------------------\n"
      "53,010 (19.03%)  ./nptl/./nptl/pthread_mutex_lock.c:pthread_mutex_lock@@GLIBC_2.2.5 "
      "[/usr/lib/x86_64-linux-gnu/libc.so.6]\n"
      "42,573 (15.28%)  ???:0x000000000004dee0 [/usr/lib/x86_64-linux-gnu/librdkafka.so.1]\n"
      " 8,550 ( 3.07%)  ./nptl/../sysdeps/pthread/thrd_priv.h:mtx_lock@@GLIBC_2.34\n"
      "   828 ( 0.30%)  /src/libs/x.h:std::vector<int>::operator[](unsigned long) const "
      "[/bin/order-service]\n"
      "\n"
      "   999 ( 0.3%)  <source annotation, not a function>\n";
  auto functions = parse_annotate_functions(output);
  ASSERT_EQ(functions.size(), 4u);
  EXPECT_EQ(functions[0].cost, 53010);
  EXPECT_EQ(functions[0].file, "./nptl/./nptl/pthread_mutex_lock.c");
  EXPECT_EQ(functions[0].function, "pthread_mutex_lock@@GLIBC_2.2.5");
  EXPECT_EQ(functions[0].object, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(functions[1].function, "0x000000000004dee0");
  EXPECT_EQ(functions[2].cost, 8550);
  EXPECT_EQ(functions[2].object, "");
  EXPECT_EQ(functions[3].function, "std::vector<int>::operator[](unsigned long) const");
  EXPECT_EQ(functions[3].object, "/bin/order-service");
}

TEST(CostComponent, ByObjectThenFunctionName) {
  auto component = [](std::string file, std::string function, std::string object) {
    return cost_component({std::move(file), std::move(function), std::move(object), 1});
  };
  EXPECT_EQ(component("???", "0x4dee0", "/usr/lib/librdkafka.so.1"), "librdkafka");
  EXPECT_EQ(component("???", "sqlite3VdbeExec", "/usr/lib/libsqlite3.so.0.8.6"), "SQLite");
  EXPECT_EQ(component("./malloc/./malloc/malloc.c", "_int_malloc", "/lib/libc.so.6"),
            "malloc, free");
  EXPECT_EQ(component("???", "operator new(unsigned long)", "/lib/libstdc++.so.6"), "malloc, free");
  EXPECT_EQ(component("a.h", "nlohmann::json_abi_v3_11_3::basic_json<>::parse()", "/bin/x"),
            "JSON (nlohmann)");
  EXPECT_EQ(component("???", "0x2a3b0", "/usr/lib/x86_64-linux-gnu/libsimdjson.so.14"),
            "JSON (simdjson)");
  EXPECT_EQ(component("e.cpp", "simdjson::dom::parser::parse()", "/bin/x"), "JSON (simdjson)");
  EXPECT_EQ(component("a.h", "spdlog::logger::log_it_()", "/bin/x"), "logging (spdlog, fmt)");
  EXPECT_EQ(component("a.h", "boost::beast::http::detail::parse()", "/bin/x"),
            "HTTP (Boost.Beast, Asio)");
  EXPECT_EQ(component("./string/../sysdeps/x86_64/multiarch/memmove-vec-unaligned-erms.S",
                      "__memcpy_avx_unaligned_erms", "/lib/libc.so.6"),
            "memcpy, strings (libc)");
  EXPECT_EQ(component("./nptl/../sysdeps/pthread/thrd_priv.h", "mtx_lock@@GLIBC_2.34", ""),
            "locks, threads (libc)");
  EXPECT_EQ(component("x.cpp", "orderflow::order::OrderService::create()", "/bin/order-service"),
            "orderflow code");
  EXPECT_EQ(component("???", "0x1234", "/usr/lib/libfoo.so"), "other");
}

TEST(DisplayName, ShortensTemplateArgumentsAndParameters) {
  EXPECT_EQ(display_name("orderflow::storage::detail::(anonymous namespace)::SqliteDatabase::"
                         "enqueue(std::function<orderflow::Result<void> (orderflow::storage::"
                         "Tx&)> const&, bool)"),
            "orderflow::storage::detail::{anon}::SqliteDatabase::enqueue()");
  EXPECT_EQ(display_name("orderflow::order::make_saga_handler(orderflow::order::OrderService&, "
                         "std::shared_ptr<spdlog::logger>)::{lambda(orderflow::messaging::"
                         "ConsumedRecord const&)#1}::operator()(orderflow::messaging::"
                         "ConsumedRecord const&) const"),
            "orderflow::order::make_saga_handler()::{lambda()#1}::operator()() const");
  EXPECT_EQ(display_name("nlohmann::detail::serializer<nlohmann::basic_json<std::map, "
                         "std::vector> >::dump(nlohmann::basic_json<> const&, bool)"),
            "nlohmann::detail::serializer<…>::dump()");
  EXPECT_EQ(display_name("std::vector<int>::operator[](unsigned long) const"),
            "std::vector<…>::operator[]() const");
  EXPECT_EQ(display_name("fmt::v9::operator<<(std::ostream&, int)"), "fmt::v9::operator<<()");
  EXPECT_EQ(display_name("std::unique_ptr<int>::operator->() const"),
            "std::unique_ptr<…>::operator->() const");
  EXPECT_EQ(display_name("0x000000000004dee0"), "0x000000000004dee0");
  EXPECT_EQ(display_name("broken<name"), "broken<name");
}

TEST(MarkedSection, ReplacesOnlyItsOwnSection) {
  const std::string previous = "# Benchmarks\n\nbody\n\nBEGIN\nold\nEND\n\ntail\n";
  EXPECT_EQ(replace_marked_section(previous, "BEGIN", "END", "BEGIN\nnew\nEND\n"),
            "# Benchmarks\n\nbody\n\nBEGIN\nnew\nEND\n\ntail\n");
  EXPECT_EQ(marked_section(previous, "BEGIN", "END"), "BEGIN\nold\nEND\n\n");
  EXPECT_EQ(marked_section(previous, "OTHER", "END"), "");
}

TEST(MarkedSection, GoesBeforeTheHandWrittenPartWhenNew) {
  std::string previous = "generated\n\n";
  previous.append(kHandWrittenMarker).append("\nmine\n");
  std::string expected = "generated\n\nBEGIN\nnew\nEND\n\n";
  expected.append(kHandWrittenMarker).append("\nmine\n");
  EXPECT_EQ(replace_marked_section(previous, "BEGIN", "END", "BEGIN\nnew\nEND\n"), expected);
  EXPECT_EQ(replace_marked_section("", "BEGIN", "END", "BEGIN\nEND\n"), "BEGIN\nEND\n");
}

}  // namespace
}  // namespace orderflow::bench
