#!/usr/bin/env bash
# Installs exactly the Debian packages orderflow needs to build, run and test.
# Idempotent: packages already present are skipped; apt-get runs only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  librdkafka-dev            # Kafka client (C++ API) and the mock cluster used as embedded broker
  libboost1.81-dev          # Asio/Beast HTTP, uuid
  nlohmann-json3-dev        # JSON
  libsimdjson-dev           # event values parsed once per record on the consumers' hot path
  libyaml-cpp-dev           # config files
  libspdlog-dev             # structured logs
  prometheus-cpp-dev        # metrics
  libcli11-dev              # command-line flags
  libsqlite3-dev            # embedded storage
  libpq-dev                 # PostgreSQL client
  libjemalloc-dev           # the services' and the broker's allocator
  libcurl4-openssl-dev      # notification channels and the data-platform sink (HTTP client)
  libjwt-dev                # bearer-token (JWT) verification and `orderflow token`
  libhiredis-dev            # Redis idempotency store
  redis-server              # the tests start a private Redis server
  postgresql-15             # PostgreSQL server binaries (initdb, postgres in /usr/lib/postgresql/15/bin):
                            # orderflow up --storage postgres and the tests start a private server
  libgtest-dev libgmock-dev # tests
  libbenchmark-dev          # bench/
  gnuplot-nox               # make bench: the latency plot in docs/benchmarks.md
  kcat                      # e2e tests read topics with a real Kafka client
  curl                      # README walk-through
  python3-venv              # the virtualenv of scripts/install-python-tools.sh (schemathesis)
  prometheus                # promtool tests of deploy/prometheus; the e2e test runs a private
                            # server (its own port and data dir, never the package's service)
  default-jre-headless      # the Kafka broker JVMs (orderflow up --broker kafka, kafka tests)
  maven                     # resolves Kafka from Maven Central (scripts/install-kafka.sh)
  chromium                  # the browser tests of the ops console (playwright-core drives
                            # /usr/bin/chromium headless; tests/browser)
)

# The ops console (services/ops/console) is built with Node.js >= 20 and npm, which Debian 12's
# nodejs (18) is too old for: they come with the machine. Without npm ops-service still builds
# and answers / with a 503 page.
if ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: npm not found: the ops console will not be built (needs Node.js >= 20 and npm)" >&2
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [ ! -e /etc/postgresql-common/createcluster.d/orderflow.conf ]; then
  # orderflow runs its own servers (tools/cli/postgres_server.cpp): Debian's default cluster
  # "main" on port 5432 would only use memory, so the package does not create it.
  $SUDO mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/orderflow.conf >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
  # Debian enables and starts a system Prometheus on :9090 (systemd, or its SysV script where
  # no policy-rc.d forbids it); orderflow's tests and docs run their own (docs/operations.md
  # "Prometheus and Grafana"), so the package's is stopped and disabled.
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus prometheus-node-exporter 2>/dev/null || true
  elif [ -x /etc/init.d/prometheus ]; then
    $SUDO /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    $SUDO update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
fi
