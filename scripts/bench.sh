#!/usr/bin/env bash
# make bench: runs the benchmarks against a fresh network of their own (in
# network/run-test, torn down afterwards) and prints every figure as one line
# "BENCH <name> <value> <unit>". Benchmarks, not tests: nothing here passes
# or fails on a figure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly BENCH_RUN_DIR="${LG_NET}/run-test"

network_cmd() {
  LEDGERGUARD_RUN_DIR="${BENCH_RUN_DIR}" "${LG_ROOT}/scripts/network.sh" "$@"
}

stop_bench_network() {
  log "stopping the bench network"
  network_cmd down >/dev/null || true
}

main() {
  if "${LG_ROOT}/scripts/network.sh" status 2>/dev/null | grep -q running; then
    die "the development network (network/run) is running and holds the ports the benchmarks need: run 'make network-down' first"
  fi
  network_cmd reset >/dev/null
  trap stop_bench_network EXIT
  network_cmd up
  LEDGERGUARD_RUN_DIR="${BENCH_RUN_DIR}" "${LG_ROOT}/scripts/chaincode.sh" deploy
  log "bench: submit/evaluate latency (200 sequential submits, BatchTimeout from network/configtx.yaml)"
  (cd "${LG_ROOT}" && go run ./test/bench -run-dir "${BENCH_RUN_DIR}" -scenario submit -n 200)
}

main "$@"
