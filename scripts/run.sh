#!/usr/bin/env bash
# make run: the main job. Starts the network unless it is already up,
# deploys the current chaincode (upgrading when chaincode/ changed), checks it
# answers as each org, then starts the demo receiver and the gateway
# (network/gateway-dev.yaml) in the background with PID files, and prints
# how to send a first event. `make network-down` stops all of it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly GATEWAY_CONFIG="${LG_NET}/gateway-dev.yaml"
readonly GATEWAY_URL="http://127.0.0.1:8088"
readonly RECEIVER_ADDR="127.0.0.1:18090"

# start_service NAME PIDFILE LOG CMD... starts a background process in its
# own session unless its PID file names a live one.
start_service() {
  local name="$1" pidfile="$2" logfile="$3"
  shift 3
  if pid_alive "${pidfile}"; then
    log "${name} already running (pid $(cat "${pidfile}"))"
    return 0
  fi
  setsid "$@" >>"${logfile}" 2>&1 </dev/null &
  echo $! >"${pidfile}"
  log "${name} started (pid $!, log ${logfile#"${LG_ROOT}"/})"
}

# ensure_dev_intel_key FILE writes a random 32-byte consortium indicator
# key (hex) for the development network unless FILE exists: every member's
# gateway of this network reads the same file (network/gateway-dev.yaml,
# intel.keys); a real consortium distributes its key off the ledger.
ensure_dev_intel_key() {
  local file="$1"
  [[ -s "${file}" ]] && return 0
  mkdir -p "$(dirname "${file}")"
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"${file}.tmp")
  mv "${file}.tmp" "${file}"
  log "development intel key written to ${file#"${LG_ROOT}"/}"
}

main() {
  if "${LG_ROOT}/scripts/network.sh" status >/dev/null 2>&1; then
    log "network already up"
  else
    "${LG_ROOT}/scripts/network.sh" up
  fi
  "${LG_ROOT}/scripts/chaincode.sh" ensure
  "${LG_BIN}/ledgerguard" ping --profile "${LG_RUN}/connection-org1.json" --identity gateway --submit --timeout 90s
  "${LG_BIN}/ledgerguard" ping --profile "${LG_RUN}/connection-org2.json" --identity gateway --submit --timeout 90s
  # The gateway runs in strict mode: it serves only models approved on the ledger.
  "${LG_ROOT}/scripts/models-ledger.sh"

  ensure_dev_intel_key "${LG_NET}/run/intel-dev.key"
  go build -o "${LG_BIN}/lg-demo-receiver" "${LG_ROOT}/test/demo/receiver"
  start_service "demo receiver" "${LG_RUN}/receiver.pid" "${LG_RUN}/receiver.log" \
    "${LG_BIN}/lg-demo-receiver" --listen "${RECEIVER_ADDR}"
  port_busy 8088 && ! pid_alive "${LG_RUN}/gateway.pid" && die "port 8088 is in use by another process; the gateway needs it"
  start_service "gateway" "${LG_RUN}/gateway.pid" "${LG_RUN}/gateway.log" \
    "${LG_BIN}/ledgerguard" gateway --config "${GATEWAY_CONFIG}"
  if ! wait_http "${GATEWAY_URL}/readyz" 120 0.25; then
    tail -20 "${LG_RUN}/gateway.log" >&2 || true
    die "the gateway did not become ready; see network/run/gateway.log"
  fi
  log "ledgerguard is running: channel ${LG_CHANNEL}, chaincode ${LG_CC_NAME}, gateway ${GATEWAY_URL}"
  cat <<MSG

Send a first event (development credentials from network/gateway-dev.yaml):

  curl -s -H 'Authorization: Bearer dev-ndjson-token-not-secret' -H 'Content-Type: application/x-ndjson' \\
       --data-binary '{"sourcetype":"app","event":{"message":"hello ledgerguard"}}' ${GATEWAY_URL}/v1/events

  curl -s -H 'Authorization: Splunk dev-hec-token-not-secret' \\
       -H 'X-Splunk-Request-Channel: 0f8fad5b-d9cb-469f-a165-70867728950e' \\
       -d '{"event":"hello from HEC","sourcetype":"app"}' ${GATEWAY_URL}/services/collector/event

Then see it anchored:  curl -s -H 'Authorization: Bearer dev-read-token-not-secret' ${GATEWAY_URL}/v1/checkpoint
Connection profiles:   network/run/connection-org1.json, network/run/connection-org2.json
Stop everything:       make network-down
MSG
}

main "$@"
