#!/usr/bin/env bash
# Private data collections of the ledgerguard chaincode, written as the
# collection configuration `peer lifecycle chaincode approveformyorg|commit
# --collections-config` takes. Sourced by scripts/chaincode.sh; also runs
# alone: scripts/collections.sh OUTFILE MSPID...
#
#   intelShared  values of CLEAR and GREEN threat-intelligence indicators:
#                every member organisation holds them (member policy lists
#                them all), only members may read or write them, kept
#                forever (blockToLive 0) until the sharer purges them.
#                requiredPeerCount 0 and maxPeerCount 0: the endorsing
#                peers push the values to no other peer at endorsement.
#                Each endorser holds the values it simulated (its transient
#                store); every other member peer (a non-endorsing
#                organisation's, when a majority of three or more endorses,
#                or an organisation's second peer) pulls them from the
#                endorsers while it commits the block (gossip pvtData
#                pull, peer.gossip.pvtData.pullRetryThreshold in
#                network/config/core.yaml; the reconciler fetches what a
#                pull missed). maxPeerCount 1 pushed every share's values
#                (about 200 kB per 1,000 indicators) to one more peer,
#                which with one peer per organisation was the other
#                endorser, already holding them: a second transient-store
#                write and a gossip message Fabric 2.5 also formats as text
#                for a debug log line that is off (flogging's Debug formats
#                eagerly), per share on both peers. scripts/bench.sh intel:
#                see the README, "Threat intelligence on the ledger".
# AMBER values use Fabric's implicit per-organisation collections
# (_implicit_org_<MSPID>), which need no configuration.
set -euo pipefail

# collections_config OUTFILE MSPID... writes the configuration for the
# given member organisations to OUTFILE (atomically: every approval of a
# deploy writes it at the same time, so each writes its own temporary
# file and renames it over OUTFILE).
collections_config() {
  local out="$1"; shift
  (($# > 0)) || { echo "collections_config: no member organisations" >&2; return 2; }
  local members=() msp policy tmp
  for msp in "$@"; do
    [[ "${msp}" =~ ^[A-Za-z0-9.-]+$ ]] || { echo "collections_config: bad MSP id '${msp}'" >&2; return 2; }
    members+=("'${msp}.member'")
  done
  policy="OR($(IFS=,; echo "${members[*]}"))"
  tmp="$(mktemp "${out}.XXXXXX")"
  cat >"${tmp}" <<JSON
[
  {
    "name": "intelShared",
    "policy": "${policy}",
    "requiredPeerCount": 0,
    "maxPeerCount": 0,
    "blockToLive": 0,
    "memberOnlyRead": true,
    "memberOnlyWrite": true
  }
]
JSON
  chmod 0644 "${tmp}"
  mv "${tmp}" "${out}"
}

if [[ "${BASH_SOURCE[0]}" == "${0}" ]]; then
  (($# >= 2)) || { echo "usage: scripts/collections.sh OUTFILE MSPID..." >&2; exit 2; }
  collections_config "$@"
fi
