#!/usr/bin/env bash
# make run: the main job. Starts the network unless it is already up,
# deploys the current chaincode (or confirms it is deployed) and checks it
# answers through the Go client as each org.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  if "${LG_ROOT}/scripts/network.sh" status >/dev/null 2>&1; then
    log "network already up"
  else
    "${LG_ROOT}/scripts/network.sh" up
  fi
  "${LG_ROOT}/scripts/chaincode.sh" deploy
  "${LG_BIN}/ledgerguard" ping --profile "${LG_RUN}/connection-org1.json" --identity gateway
  "${LG_BIN}/ledgerguard" ping --profile "${LG_RUN}/connection-org2.json" --identity gateway
  log "ledgerguard is running: channel ${LG_CHANNEL}, chaincode ${LG_CC_NAME}"
  log "connection profiles: network/run/connection-org1.json, network/run/connection-org2.json"
  log "stop it with 'make network-down'"
}

main "$@"
