#!/usr/bin/env bash
# make demo: the whole story on one machine. Sets up what is missing,
# starts the network, the demo receiver (it plays the EDR, identity
# provider and incident tracker on 127.0.0.1) and the gateway, puts the
# example policies in force, replays real public telemetry, prints a live
# view and a summary, exports an evidence bundle of the run and verifies it
# offline. Afterwards it stops what it started, unless KEEP=1 (make demo
# KEEP=1) asks it to keep running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly DATA_DIR="${LEDGERGUARD_DATA_DIR:-${LG_ROOT}/../shared/data}"
# The id of network/gateway-dev.yaml, the one its identity `gateway` is bound to.
readonly GATEWAY_ID="org1-gateway-1"

export_and_verify() {
  local from="$1" bundle="${LG_RUN}/demo-evidence.jsonl.gz"
  log "evidence: stopping the gateway to export from its store"
  stop_service gateway "${LG_RUN}/gateway.pid"
  "${LG_BIN}/ledgerguard" export --store "${LG_RUN}/gateway" --gateway-msp Org1MSP --gateway-id "${GATEWAY_ID}" \
    --profile "${LG_RUN}/connection-org2.json" --identity auditor \
    --from "${from}" --to "$(date -u +%Y-%m-%dT%H:%M:%SZ)" -o "${bundle}" --quiet
  log "evidence: verifying ${bundle#"${LG_ROOT}"/} offline (leaf hashes, inclusion and consistency proofs, anchoring transactions, endorsement signatures)"
  "${LG_BIN}/ledgerguard" verify "${bundle}" --quiet
}

main() {
  [[ -d "${DATA_DIR}" ]] || die "the demo replays public datasets from ${DATA_DIR} (set LEDGERGUARD_DATA_DIR)"
  local was_up=false
  if "${LG_ROOT}/scripts/network.sh" status >/dev/null 2>&1; then was_up=true; fi
  "${LG_ROOT}/scripts/run.sh" >/dev/null
  log "network, gateway and demo receiver are up"
  local from
  from="$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)"
  (cd "${LG_ROOT}" && go run ./test/demo/driver --data "${DATA_DIR}" --run-dir "${LG_RUN}" --gateway-id "${GATEWAY_ID}")
  local verified=0
  export_and_verify "${from}" || verified=$?
  if [[ "${KEEP:-0}" == 1 ]]; then
    "${LG_ROOT}/scripts/run.sh" >/dev/null
    log "KEEP=1: everything keeps running (make network-down stops it)"
  elif [[ "${was_up}" == true ]]; then
    "${LG_ROOT}/scripts/run.sh" >/dev/null
    log "the network was up before the demo: left running, gateway restarted"
  else
    "${LG_ROOT}/scripts/network.sh" down >/dev/null
    log "demo finished: network, gateway and receiver stopped (state kept in network/run; make network-reset deletes it)"
  fi
  ((verified == 0)) || die "the evidence bundle of the run did not verify"
  log "evidence bundle verified"
}

main "$@"
