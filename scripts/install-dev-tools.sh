#!/usr/bin/env bash
# Installs the Debian packages a developer of orderflow uses beyond building and testing:
# clang-format and clang-tidy (`make format`, `make tidy`; .clang-format and .clang-tidy are
# checked in), ccache (faster rebuilds: CMAKE_CXX_COMPILER_LAUNCHER=ccache) and valgrind
# (callgrind instruction counts for benchmarks), clang with its sanitizer and libFuzzer runtimes
# (`make fuzz`: libclang-rt-14-dev holds libclang_rt.fuzzer/asan/ubsan for Debian 12's clang-14).
# `make test` does not need them.
# Idempotent: apt-get runs only when something is missing.
set -euo pipefail

packages=(clang-format clang-tidy ccache valgrind clang libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-dev-tools: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
