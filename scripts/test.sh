#!/usr/bin/env bash
# make test: sets up whatever is missing, runs the unit tests of every
# module (with -race), then starts a fresh network in network/run-test,
# deploys the chaincode, runs the end-to-end tests in test/ against it and
# tears it down again, whatever the outcome.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly TEST_RUN_DIR="${LG_NET}/run-test"

# tidy_check DIR fails when the module in DIR is not tidy, so go.mod keeps
# naming its direct requirements as direct.
tidy_check() {
  local dir="$1"
  (cd "${dir}" && go mod tidy -diff) || die "the module in ${dir} is not tidy: run 'go mod tidy' there"
}

unit_tests() {
  log "unit tests: root module (go mod tidy -diff, go vet, go test -race)"
  tidy_check "${LG_ROOT}"
  (cd "${LG_ROOT}" && go vet ./... && go test -race -count=1 ./...)
  log "unit tests: chaincode module (go mod tidy -diff, go vet, go test -race)"
  tidy_check "${LG_ROOT}/chaincode"
  (cd "${LG_ROOT}/chaincode" && go vet ./... && go test -race -count=1 ./...)
}

network_cmd() {
  LEDGERGUARD_RUN_DIR="${TEST_RUN_DIR}" "${LG_ROOT}/scripts/network.sh" "$@"
}

stop_test_network() {
  log "stopping the test network"
  network_cmd down || true
}

e2e_tests() {
  if "${LG_ROOT}/scripts/network.sh" status 2>/dev/null | grep -q running; then
    die "the development network (network/run) is running and holds the ports the tests need: run 'make network-down' first"
  fi
  log "end-to-end: starting a fresh test network in network/run-test"
  network_cmd reset >/dev/null
  trap stop_test_network EXIT
  network_cmd up
  LEDGERGUARD_RUN_DIR="${TEST_RUN_DIR}" "${LG_ROOT}/scripts/chaincode.sh" deploy
  log "end-to-end tests (test/...)"
  (cd "${LG_ROOT}" && LEDGERGUARD_E2E=1 LEDGERGUARD_RUN_DIR="${TEST_RUN_DIR}" go test -count=1 -timeout 25m -v ./test/...)
  stop_test_network
  trap - EXIT
}

readonly MULTIHOST_RUN_DIR="${LG_NET}/run-multihost"

multihost_cmd() {
  LEDGERGUARD_RUN_DIR="${MULTIHOST_RUN_DIR}" "${LG_ROOT}/scripts/network.sh" "$@"
}

stop_multihost_network() {
  log "stopping the multi-host network and deleting its namespaces"
  multihost_cmd reset >/dev/null || true
}

# multihost_tests runs TestMultiHost on a fresh network whose orderers and
# organisations each run in a network namespace of their own (198.18.0.0/15
# test hosts, scripts/netns.sh), from inside the client namespace: the
# whole story with nothing between nodes on 127.0.0.1. Needs root for
# `ip netns`, as CI has.
multihost_tests() {
  log "end-to-end, multi-host: a fresh network in network namespaces (network/run-multihost)"
  multihost_cmd reset >/dev/null
  trap stop_multihost_network EXIT
  multihost_cmd up --netns
  LEDGERGUARD_RUN_DIR="${MULTIHOST_RUN_DIR}" "${LG_ROOT}/scripts/chaincode.sh" deploy
  (cd "${LG_ROOT}" && ip netns exec lg-client env LEDGERGUARD_E2E=1 LEDGERGUARD_MULTIHOST=1 LEDGERGUARD_RUN_DIR="${MULTIHOST_RUN_DIR}" \
    go test -count=1 -timeout 12m -v -run '^TestMultiHost$' ./test/e2e/)
  stop_multihost_network
  trap - EXIT
}

main() {
  local started=${SECONDS}
  "${LG_ROOT}/scripts/setup.sh"
  unit_tests
  e2e_tests
  multihost_tests
  log "all tests passed in $((SECONDS - started)) s"
}

main "$@"
