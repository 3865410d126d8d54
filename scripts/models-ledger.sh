#!/usr/bin/env bash
# models-ledger.sh: registers the committed models (models/<name>/<version>/)
# on the network's models contract as Org1's author and approves them as
# Org1's and Org2's admins, so a gateway in strict mode (detection.strict,
# the default) serves them. Idempotent: registering identical content and
# approving again are no-ops on the ledger, so make run calls it every time.
# Needs bin/ledgerguard (make build) and a network with the chaincode.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  local lg="${LG_BIN}/ledgerguard" models="${LG_ROOT}/models"
  [[ -x "${lg}" ]] || die "${lg} is missing: run 'make build' first"
  "${lg}" models register "${models}" --profile "${LG_RUN}/connection-org1.json" --identity author >/dev/null
  "${lg}" models approve "${models}" --profile "${LG_RUN}/connection-org1.json" >/dev/null
  "${lg}" models approve "${models}" --profile "${LG_RUN}/connection-org2.json" >/dev/null
  log "committed models registered on the ledger and approved by Org1MSP and Org2MSP"
}

main "$@"
