#!/usr/bin/env bash
# make chaos: starts a fresh test network in network/run-test (as make test
# does), deploys the chaincode and runs the full chaos suite against it
# (test/e2e TestChaos with LEDGERGUARD_CHAOS=full): a 100,000-event stream
# through every protocol while a seeded schedule kills the gateway, stops a
# peer and the raft leader and fills the store's disk, then
# TestChaosOrdererStall (the raft leader frozen with SIGSTOP and killed
# under load; anchoring must resume within its commit-status timeout plus a
# minute after each). It prints the CHAOS
# lines (seed, faults survived, events lost, duplicates) and tears the
# network down again, whatever the outcome. LEDGERGUARD_CHAOS_SEED replays a
# schedule. The disk-full fault mounts a small tmpfs and so needs root.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly CHAOS_RUN_DIR="${LG_NET}/run-test"

network_cmd() {
  LEDGERGUARD_RUN_DIR="${CHAOS_RUN_DIR}" "${LG_ROOT}/scripts/network.sh" "$@"
}

stop_chaos_network() {
  log "stopping the chaos test network"
  network_cmd down || true
}

# start_fresh_network RUN_DIR resets and starts the network in RUN_DIR and
# deploys the chaincode; the caller stops it.
start_fresh_network() {
  local run_dir="$1"
  if "${LG_ROOT}/scripts/network.sh" status 2>/dev/null | grep -q running; then
    die "the development network (network/run) is running and holds the ports the suite needs: run 'make network-down' first"
  fi
  log "chaos: starting a fresh test network in ${run_dir}"
  network_cmd reset >/dev/null
  network_cmd up
  LEDGERGUARD_RUN_DIR="${run_dir}" "${LG_ROOT}/scripts/chaincode.sh" deploy
}

# run_chaos SEED runs the full suite; an empty SEED lets the test draw one.
run_chaos() {
  local seed="$1"
  log "chaos suite (go test ./test/e2e -run 'TestChaos|TestChaosOrdererStall', LEDGERGUARD_CHAOS=full)"
  (cd "${LG_ROOT}" && LEDGERGUARD_E2E=1 LEDGERGUARD_CHAOS=full LEDGERGUARD_CHAOS_SEED="${seed}" \
    LEDGERGUARD_RUN_DIR="${CHAOS_RUN_DIR}" go test -count=1 -timeout 40m -v -run '^TestChaos(OrdererStall)?$' ./test/e2e)
}

main() {
  local started=${SECONDS}
  "${LG_ROOT}/scripts/setup.sh"
  trap stop_chaos_network EXIT
  start_fresh_network "${CHAOS_RUN_DIR}"
  run_chaos "${LEDGERGUARD_CHAOS_SEED:-}"
  log "chaos suite passed in $((SECONDS - started)) s"
}

main "$@"
