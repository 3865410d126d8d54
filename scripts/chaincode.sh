#!/usr/bin/env bash
# Chaincode lifecycle for ledgerguard on the native network: package the Go
# module in chaincode/, install it on every member org's peer (network/run/orgs),
# approve it as each org, commit it, and wait until it answers on every peer.
#
#   deploy   make the current source the committed definition (sequence 1 on
#            a new channel; a no-op when it already is; refuses to silently
#            replace different committed code: use upgrade)
#   upgrade  commit the current source as the next sequence and version
#   ensure   deploy, or upgrade when chaincode/ changed (what make run uses)
#
# Endorsement policy: the definition names none, so it is the channel's
# /Channel/Application/Endorsement, "MAJORITY Endorsement": a majority of
# the channel's organisations must endorse every transaction (2 of 2, 2 of
# 3, 3 of 4 ...), counted at validation time from the channel
# configuration, so scripts/org.sh's joins and leaves need no new
# definition and no single member can write the ledger. The flags every
# approval and commit share come from chaincode_definition_args (lib.sh),
# including the private data collections of scripts/collections.sh for the
# current members; a transaction writing only implicit organisation
# collections is validated against those organisations' endorsement
# policies instead (intel:StoreIndicatorValues).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  echo "usage: scripts/chaincode.sh deploy|upgrade|ensure" >&2
  exit 2
}

# source_label prints a label naming the source digest, so the same source
# always gives the same package id and a changed source a new one.
source_label() {
  local digest
  digest="$(cd "${LG_ROOT}/chaincode" && find . -path ./vendor -prune -o -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)"
  echo "${LG_CC_NAME}_${digest}"
}

# package_chaincode LABEL OUT writes the package to OUT, reusing one made
# before for the same source (the label names its digest) from .cache/, so
# a reset network does not package again.
package_chaincode() {
  local label="$1" out="$2" cached
  cached="${LG_ROOT}/.cache/chaincode/packages/${label}.tar.gz"
  [[ -f "${LG_ROOT}/chaincode/vendor/modules.txt" ]] || die "chaincode/vendor is missing: run 'make setup' first"
  if [[ ! -f "${out}" && -f "${cached}" ]]; then
    cp "${cached}" "${out}"
  fi
  if [[ ! -f "${out}" ]]; then
    log "packaging chaincode ${label}"
    peer_cli Org1 lifecycle chaincode package "${out}.tmp" --path "${LG_ROOT}/chaincode" --lang golang --label "${label}" \
      || die "packaging the chaincode failed"
    mv "${out}.tmp" "${out}"
    mkdir -p "$(dirname "${cached}")"
    cp "${out}" "${cached}.tmp" && mv "${cached}.tmp" "${cached}"
  fi
}

# each_org FN ARGS... runs FN ORG ARGS... for every org side by side (each
# org's peer does its own work) and fails if any failed.
each_org() {
  local org pids=() pid rc=0
  for org in $(active_orgs); do
    "$1" "${org}" "${@:2}" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "${pid}" || rc=1
  done
  ((rc == 0)) || die "$1 failed for at least one organisation (see the messages above)"
}

installed_on() {
  local org="$1" package_id="$2"
  peer_cli "${org}" lifecycle chaincode queryinstalled -O json 2>/dev/null \
    | jq -e --arg id "${package_id}" '.installed_chaincodes[]? | select(.package_id == $id)' >/dev/null
}

install_on() {
  local org="$1" pkg="$2" package_id="$3"
  if installed_on "${org}" "${package_id}"; then
    log "already installed on the peer of ${org}"
    return 0
  fi
  log "installing on the peer of ${org} (the peer builds the Go binary; a cold build takes about a minute)"
  peer_cli "${org}" lifecycle chaincode install "${pkg}" >"${LG_RUN}/cc/install-${org}.log" 2>&1 \
    || die "install on ${org} failed; see network/run/cc/install-${org}.log and network/run/$(org_peer "${org}")/$(org_peer "${org}").log"
}

# member_msps prints the MSP IDs of the network's organisations.
member_msps() {
  local org
  for org in $(active_orgs); do org_msp "${org}"; done
}

# definition_args prints the shared definition flags for the current orgs.
definition_args() {
  # shellcheck disable=SC2046
  chaincode_definition_args "${LG_RUN}/cc" $(member_msps)
}

# collections_digest_committed prints a normal form of the private data
# collections in the committed definition JSON on stdin (querycommitted
# -O json: collection names, member MSPs of each OR policy, peer counts,
# blockToLive, member-only flags), so it compares equal to
# collections_digest_wanted's when the definition already carries them.
collections_digest_committed() {
  jq -cS '[(.collections.config // [])[] | .Payload.StaticCollectionConfig
    | {name,
       n: (.member_orgs_policy.Payload.SignaturePolicy.rule.Type.NOutOf.n // 0),
       members: ([.member_orgs_policy.Payload.SignaturePolicy.identities[]?.principal | @base64d | .[2:]] | sort),
       required: (.required_peer_count // 0), max: (.maximum_peer_count // 0),
       btl: ((.block_to_live // 0) | tonumber),
       read: (.member_only_read // false), write: (.member_only_write // false)}] | sort_by(.name)'
}

# collections_digest_wanted FILE prints the same normal form for a
# collections config file as scripts/collections.sh writes it (policies
# of the form OR('MSP.member',...)); [] when FILE is absent.
collections_digest_wanted() {
  local file="$1"
  [[ -f "${file}" ]] || { echo '[]'; return 0; }
  jq -cS '[.[] | {name,
       n: (if (.policy | startswith("OR(")) then 1 else -1 end),
       members: ([.policy | scan("([A-Za-z0-9.-]+)\\.member") | .[0]] | sort),
       required: (.requiredPeerCount // 0), max: (.maxPeerCount // 0),
       btl: (.blockToLive // 0),
       read: (.memberOnlyRead // false), write: (.memberOnlyWrite // false)}] | sort_by(.name)' "${file}"
}

# collections_current COMMITTED_JSON reports (exit status) whether the
# committed definition already carries the collections scripts/collections.sh
# gives for today's members: a collections-only change (a member joined
# outside org.sh, or collections.sh edited) then needs an upgrade even when
# the chaincode source, and so the package, is unchanged.
collections_current() {
  local committed="$1" args file
  args="$(definition_args)"
  file="${args#--collections-config }"
  [[ "${args}" == --collections-config* ]] || file=""
  local have want
  have="$(collections_digest_committed <<<"${committed}")"
  want="$(collections_digest_wanted "${file}")"
  [[ "${have}" == "${want}" ]] && return 0
  log "the committed private data collections differ from scripts/collections.sh's for today's members: committed ${have}, wanted ${want}"
  return 1
}

approve_as() {
  local org="$1" package_id="$2" seq="$3" version="$4"
  local msp
  msp="$(org_msp "${org}")"
  # shellcheck disable=SC2046
  if peer_cli "${org}" lifecycle chaincode checkcommitreadiness -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" -v "${version}" \
      --sequence "${seq}" $(definition_args) -O json 2>/dev/null \
      | jq -e --arg m "${msp}" '.approvals[$m] == true' >/dev/null; then
    log "${org} already approved sequence ${seq}"
    return 0
  fi
  log "approving sequence ${seq} as ${org}"
  # shellcheck disable=SC2046 # word splitting of the flag lists is intended
  peer_cli "${org}" lifecycle chaincode approveformyorg -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" -v "${version}" \
    --package-id "${package_id}" --sequence "${seq}" $(definition_args) \
    $(orderer_args) --waitForEvent >"${LG_RUN}/cc/approve-${org}.log" 2>&1 \
    || die "approve as ${org} failed; see network/run/cc/approve-${org}.log"
}

commit_definition() {
  local seq="$1" version="$2"
  log "committing sequence ${seq} (version ${version})"
  # shellcheck disable=SC2046
  peer_cli "$(active_orgs | head -1)" lifecycle chaincode commit -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" -v "${version}" \
    --sequence "${seq}" $(definition_args) $(orderer_args) $(peers_args $(active_orgs)) \
    --waitForEvent >"${LG_RUN}/cc/commit.log" 2>&1 \
    || die "commit failed; see network/run/cc/commit.log"
}

# wait_answers waits, bounded, until the chaincode answers on every peer.
wait_answers() {
  local org i
  for org in $(active_orgs); do
    for ((i = 0; i < 120; i++)); do
      if peer_cli "${org}" chaincode query -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" -c '{"Args":["system:Ping"]}' >/dev/null 2>&1; then
        break
      fi
      sleep 0.5
    done
    ((i < 120)) || die "the chaincode does not answer on the peer of ${org}; see network/run/$(org_peer "${org}")/$(org_peer "${org}").log"
  done
  log "chaincode answers on every member's peer"
}

# wait_endorsable waits (bounded) until a transaction endorsed by a
# majority of organisations commits when submitted through each org's peer gateway:
# peers learn each other's endpoints through gossip a few seconds after
# they answer, and clients that rely on discovery fail until then.
wait_endorsable() {
  local org lg=("${LG_BIN}/ledgerguard")
  if [[ ! -x "${LG_BIN}/ledgerguard" ]]; then
    lg=(go run "${LG_ROOT}/gateway/cmd/ledgerguard")
  fi
  for org in $(active_orgs | tr '[:upper:]' '[:lower:]'); do
    (cd "${LG_ROOT}" && "${lg[@]}" ping --submit --timeout 90s --identity gateway \
      --profile "${LG_RUN}/connection-${org}.json" >/dev/null) \
      || die "transactions through the peer of ${org} are not endorsed by a majority of organisations after 90 s"
  done
  log "a majority of organisations endorses transactions through every peer"
}

# committed_field FIELD prints a field of the committed definition, or nothing.
committed_json() {
  peer_cli "$(active_orgs | head -1)" lifecycle chaincode querycommitted -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" -O json 2>/dev/null || true
}

committed_package_id() {
  local seq="$1"
  # The committed definition does not name a package; each org's approval
  # does, and queryapproved shows ours for that sequence.
  peer_cli "$(active_orgs | head -1)" lifecycle chaincode queryapproved -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" --sequence "${seq}" -O json 2>/dev/null \
    | jq -r '.source.Type.LocalPackage.package_id // empty'
}

# init_members records the consortium's member organisations (the network's
# organisations); the contracts derive default quorums from it. The
# chaincode makes a repeat with the same set a no-op, so every deploy and
# upgrade calls it; later changes go through scripts/org.sh.
init_members() {
  local out first args
  first="$(active_orgs | head -1)"
  args="$(member_msps | jq -R . | jq -sc '{Args: ["consortium:InitMembers", (. | tojson)]}')"
  # shellcheck disable=SC2046
  if ! out="$(peer_cli "${first}" chaincode invoke -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" $(orderer_args) $(peers_args $(active_orgs)) \
      -c "${args}" --waitForEvent 2>&1)"; then
    if grep -q "function consortium:InitMembers not found\|Contract not found with name consortium" <<<"${out}"; then
      return 0
    fi
    die "recording the consortium members failed: ${out}"
  fi
  log "consortium members: $(member_msps | tr '\n' ' ')"
}

run_lifecycle() {
  local mode="$1"
  require_bin peer
  require_cmd jq
  "${LG_ROOT}/scripts/network.sh" status >/dev/null || die "the network is not (fully) up: run 'make network-up' first"
  mkdir -p "${LG_RUN}/cc"
  local label pkg package_id current seq version
  label="$(source_label)"
  pkg="${LG_RUN}/cc/${label}.tar.gz"
  package_chaincode "${label}" "${pkg}"
  # A package id is LABEL:sha256 of the package file (what `peer lifecycle
  # chaincode calculatepackageid` prints), computed here without starting
  # the peer CLI, which costs a second or two on a busy machine.
  package_id="${label}:$(sha256sum "${pkg}" | cut -d' ' -f1)"
  current="$(committed_json)"
  seq="$(jq -r '.sequence // 0' <<<"${current:-{\}}")"
  if [[ "${mode}" != upgrade && "${seq}" -gt 0 ]]; then
    if [[ "$(committed_package_id "${seq}")" == "${package_id}" ]] && collections_current "${current}"; then
      wait_answers
      init_members
      wait_endorsable
      log "already deployed: sequence ${seq}, version $(jq -r .version <<<"${current}"), package id ${package_id}"
      echo "sequence=${seq} package_id=${package_id}"
      return 0
    fi
    if [[ "${mode}" == deploy ]]; then
      die "sequence ${seq} is committed with other code or other private data collections than chaincode/ and scripts/collections.sh give now: run 'make upgrade' to ship them"
    fi
    log "chaincode/ or its collections changed since sequence ${seq}: upgrading"
  fi
  seq=$((seq + 1))
  version="${seq}.0"
  # The first install builds (or finds the cached binary); the others
  # reuse it, so they start once it is done.
  install_on "$(active_orgs | head -1)" "${pkg}" "${package_id}"
  each_org install_on "${pkg}" "${package_id}"
  each_org approve_as "${package_id}" "${seq}" "${version}"
  commit_definition "${seq}" "${version}"
  wait_answers
  init_members
  wait_endorsable
  log "${mode} done: sequence ${seq}, version ${version}, package id ${package_id}"
  echo "sequence=${seq} package_id=${package_id}"
}

main() {
  [[ $# -eq 1 ]] || usage
  enter_client_netns "$0" "$@"
  case "$1" in
    deploy|upgrade|ensure) run_lifecycle "$1" ;;
    *) echo "unknown command '$1'" >&2; usage ;;
  esac
}

main "$@"
