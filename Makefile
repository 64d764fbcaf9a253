# The two commands: `make run` brings the whole system up, `make test` runs every test.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
DATA_DIR ?= .orderflow

.PHONY: deps dev-deps configure build run run-kafka test test-unit test-integration test-e2e test-kafka test-browser screenshots test-asan fuzz asan-configure demo bench bench-postgres profile format tidy clean

deps:
	@bash scripts/install-deps.sh
	@bash scripts/install-kafka.sh
	@bash scripts/install-python-tools.sh

# clang-format, clang-tidy, ccache, valgrind: for `make format`/`make tidy`, not for `make test`.
dev-deps:
	@bash scripts/install-dev-tools.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/bin/orderflow up --data-dir $(DATA_DIR) --config config/orderflow.yaml

# The same system on a real 3-node Apache Kafka cluster (KRaft, JVMs under <data-dir>/kafka).
run-kafka: build
	$(BUILD_DIR)/bin/orderflow up --broker kafka --data-dir $(DATA_DIR) --config config/orderflow.yaml

demo: build
	$(BUILD_DIR)/bin/orderflow demo --data-dir $(DATA_DIR)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

test-integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

test-e2e: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L e2e

test-kafka: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L kafka

test-browser: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L browser

# The browser test's screenshots of each console page, copied into docs/console/ (committed).
screenshots: build
	cd $(BUILD_DIR) && ORDERFLOW_SCREENSHOTS_OUT=$(CURDIR)/docs/console ctest --output-on-failure -R '^browser_console$$'

# Sanitizer build (clang from dev-deps, build-asan): AddressSanitizer + UndefinedBehaviorSanitizer
# everywhere, libFuzzer coverage, no jemalloc. `make fuzz` and `make test-asan` share it.
ASAN_BUILD_DIR ?= build-asan
FUZZ_SECONDS ?= 30
# The sanitizers' settings (docs/operations.md "Sanitizers"); the leak suppressions are for
# system libraries only, each with its reason.
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=0 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

asan-configure: deps dev-deps
	@cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++ -DORDERFLOW_FUZZ=ON -DORDERFLOW_JEMALLOC=OFF >/dev/null

# Every libFuzzer target in fuzz/ for FUZZ_SECONDS each, from its seed corpus in fuzz/corpus/;
# fails on a crash, leak, timeout or out-of-memory (the input is saved under
# $(ASAN_BUILD_DIR)/fuzz/artifacts/). FUZZ_TARGETS="config" runs some only.
fuzz: asan-configure
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS) --target fuzz
	@$(SANITIZER_ENV) bash scripts/run-fuzz.sh $(ASAN_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The unit and integration suites under ASan + UBSan (tests/sanitizers/, docs/operations.md).
test-asan: asan-configure
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS) --target unit_integration_tests
	cd $(ASAN_BUILD_DIR) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) -L 'unit|integration' $(ASAN_CTEST_ARGS)

# The standard benchmark suite on the embedded broker and on a local 3-node Kafka cluster
# (~10 min on 2 cores), then the CPU-per-order profile below (~2 min): writes docs/benchmarks.md
# and its plot. BENCH_ARGS passes options to the suite, e.g. BENCH_ARGS="--broker embedded" or
# "--phase-ms 5000".
bench: build dev-deps
	$(BUILD_DIR)/bin/orderflow-bench suite --broker both --out docs/benchmarks.md --json $(BUILD_DIR)/benchmarks.json $(BENCH_ARGS)
	$(BUILD_DIR)/bin/orderflow-bench profile --out docs/benchmarks.md --json $(BUILD_DIR)/profile.json $(PROFILE_ARGS)

# The same suite with every service on PostgreSQL (a private server for the run, durable
# commits) on the embedded broker, beside the raw PostgreSQL commit baseline, and the saga with
# 1 and 2 instances of every service (~20 min on 2 cores): rewrites only the PostgreSQL section
# of docs/benchmarks.md. BENCH_ARGS as above, e.g. "--phase-ms 3000" or "--broker kafka".
bench-postgres: build
	$(BUILD_DIR)/bin/orderflow-bench suite --storage postgres --broker embedded --out docs/benchmarks.md --json $(BUILD_DIR)/benchmarks-postgres.json $(BENCH_ARGS)

# CPU per completed order (issue 15), every process counted, the broker too: instructions
# under callgrind (valgrind, from dev-deps) and CPU time from /proc beside it (~2 min on 2
# cores): rewrites only the "CPU per order" section of docs/benchmarks.md. PROFILE_ARGS passes
# options through, e.g. PROFILE_ARGS="--orders 500" (orderflow-bench profile --help).
profile: build dev-deps
	$(BUILD_DIR)/bin/orderflow-bench profile --out docs/benchmarks.md --json $(BUILD_DIR)/profile.json $(PROFILE_ARGS)

format: dev-deps
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

tidy: configure dev-deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
	@git ls-files 'libs/*.cpp' 'services/*.cpp' 'tools/*.cpp' | xargs clang-tidy -p $(BUILD_DIR) --quiet

clean:
	rm -rf $(BUILD_DIR)
