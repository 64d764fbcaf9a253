#!/usr/bin/env bash
# Resolves the Apache Kafka broker pinned in tools/kafka/pom.xml (and its log4j2 backend) from
# Maven Central into a cache outside the source tree, reused across builds and work trees:
#   ${ORDERFLOW_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/orderflow}/kafka-<version>/lib
# Idempotent: does nothing when that directory is complete (marked by .complete).
# Prints nothing on success unless it had to resolve; `--print-lib-dir` prints the directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pom="$root/tools/kafka/pom.xml"
version="$(sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' "$pom")"
if [ -z "$version" ]; then
  echo "install-kafka: no <kafka.version> in $pom" >&2
  exit 1
fi
cache="${ORDERFLOW_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/orderflow}"
lib="$cache/kafka-$version/lib"

if [ "${1:-}" = "--print-lib-dir" ]; then
  echo "$lib"
  exit 0
fi
if [ -f "$lib/.complete" ]; then
  exit 0
fi

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null; then
    echo "install-kafka: $tool not found (scripts/install-deps.sh installs it)" >&2
    exit 1
  fi
done

echo "install-kafka: resolving Apache Kafka $version from Maven Central into $lib"
staging="$lib.partial.$$"
rm -rf "$staging"
trap 'rm -rf "$staging"' EXIT
mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
  -DoutputDirectory="$staging"
if ! ls "$staging"/kafka_2.13-"$version".jar >/dev/null 2>&1; then
  echo "install-kafka: kafka_2.13-$version.jar missing after resolution" >&2
  exit 1
fi
# The list of jars, for a look at what a given version brought in.
(cd "$staging" && ls *.jar) > "$staging/.complete"
rm -rf "$lib"
mkdir -p "$(dirname "$lib")"
mv "$staging" "$lib"
trap - EXIT
