#!/usr/bin/env bash
# Consortium operations on the running network: an organisation joins or
# leaves channel lgchannel and the consortium membership record, with the
# agreement of a majority of the current members.
#
# Usage: scripts/org.sh add ORG [--signers ORG,ORG...]
#        scripts/org.sh remove ORG [--signers ORG,ORG...]
#   ORG is Org3 (or org3, Org3MSP) ... Org9; --signers chooses which
#   members' admins sign the channel update (default: the first majority).
#
# `add OrgN` does, in order (an operator can follow the same steps by hand;
# every file lands in network/run/org-changes/<org>-<time>/):
#   1. crypto material for OrgN (cryptogen extend, same layout and SANs as
#      Org1/Org2) and its role identities (gateway, author, analyst,
#      auditor) enrolled with OrgN's Fabric CA, each carrying its
#      ledgerguard.role attribute;
#   2. OrgN's peer started (ports 27N51-27N53, see scripts/lib.sh);
#   3. the channel configuration update: fetch the latest config block,
#      decode it (configtxlator proto_decode), add OrgN's MSP (configtxgen
#      -printOrg) with its anchor peer, compute the update
#      (configtxlator compute_update), wrap it in an envelope;
#   4. signatures of a majority of the current members, each by that
#      member's own admin identity (`peer channel signconfigtx`; the last
#      signer submits with `peer channel update`, which adds its own): the
#      channel's Application/Admins policy is MAJORITY Admins, so the
#      orderer refuses fewer;
#   5. OrgN's peer joins the channel from block 0 and catches up;
#   6. the chaincode package is installed on OrgN's peer and OrgN approves
#      the committed definition at the current sequence (same flags as
#      every member: chaincode_definition_args in scripts/lib.sh);
#   7. the consortium contract's membership gains OrgN through a
#      membership change proposed by one member and approved by admins of
#      a majority of the current members (consortium:ProposeMembershipChange,
#      consortium:ApproveMembershipChange);
#   8. network/run/connection-orgN.json is written (common connection
#      profile, like the others) and OrgN is listed in network/run/orgs.
#
# `remove OrgN` refuses when OrgN is the last member or still holds
# responses awaiting approval (its alerts' responses it would execute),
# then: membership change on the ledger (majority), channel update removing
# OrgN's MSP (majority of admins), OrgN's peer stopped and its state
# deleted. From then on OrgN's identities are unknown to the channel: their
# proposals and submissions are refused, and its peer cannot endorse.
#
# Bad input ends with a message and exit 1 (exit 2 for bad usage) before
# anything changes, or, for a refused channel update, with the channel as
# it was (the orderer applies an update whole or not at all).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/network.sh"

org_usage() {
  cat >&2 <<'USAGE'
usage: scripts/org.sh add ORG [--signers ORG,ORG...]
       scripts/org.sh remove ORG [--signers ORG,ORG...]
  ORG is Org3..Org9 (or org3, Org3MSP); --signers names the members whose
  admins sign the channel update (default: the first majority of members).
USAGE
  exit 2
}

# parse_org ARG prints OrgN for OrgN, orgN or OrgNMSP (exit 2 otherwise).
parse_org() {
  if [[ "$1" =~ ^[Oo]rg([1-9])(MSP)?$ ]]; then
    echo "Org${BASH_REMATCH[1]}"
    return 0
  fi
  echo "error: invalid organisation '$1': want Org1..Org9 (or org3, Org3MSP)" >&2
  exit 2
}

# majority N prints floor(N/2)+1.
majority() { echo $(($1 / 2 + 1)); }

# ------------------------------------------------------------ channel config ---

# fetch_config ORG DIR writes DIR/config.json, the channel's current
# configuration, fetched as ORG's admin.
fetch_config() {
  local org="$1" dir="$2"
  # shellcheck disable=SC2046
  peer_cli "${org}" channel fetch config "${dir}/config_block.pb" -c "${LG_CHANNEL}" $(orderer_args) \
    >"${dir}/fetch.log" 2>&1 || die "fetching the channel configuration failed; see ${dir}/fetch.log"
  "${LG_BIN}/configtxlator" proto_decode --input "${dir}/config_block.pb" --type common.Block \
    | jq '.data.data[0].payload.data.config' >"${dir}/config.json"
}

# channel_msps DIR prints the application organisations' MSP IDs of
# DIR/config.json, sorted.
channel_msps() {
  jq -r '.channel_group.groups.Application.groups | keys[]' "$1/config.json" | LC_ALL=C sort
}

# org_definition ORG DIR writes DIR/org.json: the org's MSP definition
# (configtxgen -printOrg from network/configtx.yaml's template
# organisation) with its anchor peer.
org_definition() {
  local org="$1" dir="$2" domain msp
  domain="$(org_domain "${org}")"; msp="$(org_msp "${org}")"
  sed -e "s#__ORG__#${org}#g" -e "s#__MSP__#${msp}#g" -e "s#__DOMAIN__#${domain}#g" \
    -e "s#__PORT__#$(peer_port "${org}")#g" -e "s#__HOST__#$(org_host "${org}")#g" -e "s#: run/crypto/#: ${LG_CRYPTO}/#" \
    "${LG_NET}/configtx-org.yaml" >"${dir}/configtx.yaml"
  FABRIC_CFG_PATH="${dir}" "${LG_BIN}/configtxgen" -printOrg "${msp}" >"${dir}/org-msp.json" 2>"${dir}/configtxgen.log" \
    || die "configtxgen -printOrg ${msp} failed; see ${dir}/configtxgen.log"
  jq --arg host "$(org_host "${org}")" --argjson port "$(peer_port "${org}")" \
    '.values.AnchorPeers = {mod_policy: "Admins", version: "0", value: {anchor_peers: [{host: $host, port: $port}]}}' \
    "${dir}/org-msp.json" >"${dir}/org.json"
}

# compute_update DIR writes DIR/update_envelope.pb from DIR/config.json
# and DIR/modified_config.json (configtxlator compute_update).
compute_update() {
  local dir="$1" tl="${LG_BIN}/configtxlator"
  "${tl}" proto_encode --input "${dir}/config.json" --type common.Config --output "${dir}/config.pb"
  "${tl}" proto_encode --input "${dir}/modified_config.json" --type common.Config --output "${dir}/modified_config.pb"
  "${tl}" compute_update --channel_id "${LG_CHANNEL}" --original "${dir}/config.pb" --updated "${dir}/modified_config.pb" \
    --output "${dir}/update.pb" 2>"${dir}/compute_update.log" || die "computing the config update failed; see ${dir}/compute_update.log"
  "${tl}" proto_decode --input "${dir}/update.pb" --type common.ConfigUpdate >"${dir}/update.json"
  jq -n --arg ch "${LG_CHANNEL}" --slurpfile u "${dir}/update.json" \
    '{payload: {header: {channel_header: {channel_id: $ch, type: 2}}, data: {config_update: $u[0]}}}' >"${dir}/update_envelope.json"
  "${tl}" proto_encode --input "${dir}/update_envelope.json" --type common.Envelope --output "${dir}/update_envelope.pb"
}

# sign_and_submit DIR SIGNER... has each signer's admin sign
# DIR/update_envelope.pb (peer channel signconfigtx) and the last one
# submit it (peer channel update adds the submitter's signature). A
# refusal by the orderer (too few signatures) leaves the channel as it was.
sign_and_submit() {
  local dir="$1"; shift
  local last="${!#}" org
  for org in "$@"; do
    [[ "${org}" == "${last}" ]] && break
    peer_cli "${org}" channel signconfigtx -f "${dir}/update_envelope.pb" >"${dir}/sign-${org}.log" 2>&1 \
      || die "${org}'s admin could not sign the config update; see ${dir}/sign-${org}.log"
    log "channel update signed by ${org}'s admin"
  done
  # shellcheck disable=SC2046
  if ! peer_cli "${last}" channel update -f "${dir}/update_envelope.pb" -c "${LG_CHANNEL}" $(orderer_args) \
      >"${dir}/update.log" 2>&1; then
    die "the orderer refused the channel update signed by $* ($(grep -o 'implicit policy evaluation failed.*\|BAD_REQUEST.*\|FORBIDDEN.*' "${dir}/update.log" | head -1)): the channel is unchanged; see ${dir}/update.log"
  fi
  log "channel update signed by ${last}'s admin and submitted"
}

# choose_signers DIR EXCLUDE SIGNERS prints the members that sign: SIGNERS
# (comma separated) when given, else the first majority of the channel's
# organisations other than EXCLUDE (the org leaving; empty on a join).
choose_signers() {
  local dir="$1" exclude="$2" given="$3" msps n want org
  mapfile -t msps < <(channel_msps "${dir}")
  n="${#msps[@]}"
  if [[ -n "${given}" ]]; then
    for org in ${given//,/ }; do
      org="$(parse_org "${org}")"
      printf '%s\n' "${msps[@]}" | grep -qx "$(org_msp "${org}")" || die "signer ${org} is not a member of channel ${LG_CHANNEL}"
      echo "${org}"
    done
    return 0
  fi
  want="$(majority "${n}")"
  # The others first; the org leaving signs only when they are too few.
  for org in $(printf '%s\n' "${msps[@]%MSP}" | grep -vx "${exclude:-none}"; [[ -z "${exclude}" ]] || echo "${exclude}"); do
    ((want > 0)) || break
    echo "${org}"
    want=$((want - 1))
  done
}

# ---------------------------------------------------------------- ledger ---

# cc_invoke ORG ENDORSERS ARGS_JSON submits a chaincode transaction as
# ORG's admin, endorsed by the peers of ENDORSERS (space separated orgs).
cc_invoke() {
  local org="$1" endorsers="$2" args="$3"
  # shellcheck disable=SC2046,SC2086
  peer_cli "${org}" chaincode invoke -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" $(orderer_args) $(peers_args ${endorsers}) \
    -c "${args}" --waitForEvent 2>&1
}

# cc_query ORG ARGS_JSON evaluates a chaincode transaction on ORG's peer.
cc_query() {
  peer_cli "$1" chaincode query -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" -c "$2" 2>&1
}

# ledger_members ORG prints the consortium membership record's MSP IDs.
ledger_members() {
  local out
  out="$(cc_query "$1" '{"Args":["consortium:GetMembers"]}')" || die "reading the consortium membership failed: ${out}"
  jq -r '.msps[]' <<<"${out}"
}

# change_membership ACTION MSP ENDORSERS APPROVER... proposes the change as
# the first approver's admin and approves it as each other one's, until the
# record says applied (a majority of the current members approved).
change_membership() {
  local action="$1" msp="$2" endorsers="$3"; shift 3
  local org out first=true
  for org in "$@"; do
    if [[ "${first}" == true ]]; then
      out="$(cc_invoke "${org}" "${endorsers}" "$(jq -cn --arg a "${action}" --arg m "${msp}" '{Args: ["consortium:ProposeMembershipChange", $a, $m]}')")" \
        || die "proposing to ${action} ${msp} failed: ${out}"
      first=false
      log "membership change '${action} ${msp}' proposed by ${org}'s admin"
    else
      out="$(cc_invoke "${org}" "${endorsers}" "$(jq -cn --arg m "${msp}" '{Args: ["consortium:ApproveMembershipChange", $m]}')")" \
        || die "approving the change of ${msp} as ${org} failed: ${out}"
      log "membership change of ${msp} approved by ${org}'s admin"
    fi
  done
  out="$(cc_query "$1" "$(jq -cn --arg m "${msp}" '{Args: ["consortium:GetMembershipChange", $m]}')")" \
    || die "reading the membership change of ${msp} failed: ${out}"
  [[ "$(jq -r .state <<<"${out}")" == applied ]] \
    || die "the membership change of ${msp} is not applied after approvals by $*: ${out}"
  log "consortium membership now: $(ledger_members "$1" | tr '\n' ' ')"
}

# open_responses ORG prints how many responses of ORG's alerts await
# approval (responses the org's responder would execute once approved).
# It pages through the responses (a filtered page may be empty while more
# remain) on ASKER's peer.
open_responses() {
  local org="$1" asker="$2" out bookmark="" count=0
  while :; do
    out="$(cc_query "${asker}" "$(jq -cn --arg m "$(org_msp "${org}")" --arg b "${bookmark}" \
      '{Args: ["responses:ListResponses", ({state: "awaiting-approval", msp: $m} | tojson), "1000", $b]}')")" \
      || die "listing ${org}'s responses awaiting approval failed: ${out}"
    count=$((count + $(jq '.records | length' <<<"${out}")))
    bookmark="$(jq -r '.bookmark // ""' <<<"${out}")"
    [[ -n "${bookmark}" && "$(jq -r '.fetched' <<<"${out}")" != 0 ]] || break
  done
  echo "${count}"
}

# ------------------------------------------------------------- chaincode ---

# approve_committed ORG DIR installs the committed chaincode package on
# ORG's peer and approves the committed definition as ORG at its sequence.
approve_committed() {
  local org="$1" dir="$2" via="$3" committed seq version package_id defs
  committed="$(peer_cli "${via}" lifecycle chaincode querycommitted -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" -O json 2>/dev/null)" \
    || { log "no chaincode committed yet: nothing to approve for ${org}"; return 0; }
  seq="$(jq -r .sequence <<<"${committed}")"; version="$(jq -r .version <<<"${committed}")"
  package_id="$(peer_cli "${via}" lifecycle chaincode queryapproved -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" --sequence "${seq}" -O json \
    | jq -r '.source.Type.LocalPackage.package_id // empty')"
  [[ -n "${package_id}" ]] || die "${via} has no package approved for sequence ${seq}"
  peer_cli "${via}" lifecycle chaincode getinstalledpackage --package-id "${package_id}" --output-directory "${dir}" >/dev/null 2>&1 \
    || die "could not fetch package ${package_id} from ${via}'s peer"
  if ! peer_cli "${org}" lifecycle chaincode queryinstalled -O json 2>/dev/null \
      | jq -e --arg id "${package_id}" '.installed_chaincodes[]? | select(.package_id == $id)' >/dev/null; then
    peer_cli "${org}" lifecycle chaincode install "${dir}/${package_id}.tar.gz" >"${dir}/install.log" 2>&1 \
      || die "installing the chaincode on ${org}'s peer failed; see ${dir}/install.log"
  fi
  # The definition's flags for the membership it was committed with.
  # The definition's flags for the membership it was committed with (the
  # organisations that approved it; the new one shows false).
  # shellcheck disable=SC2046
  defs="$(chaincode_definition_args "${dir}" $(jq -r '.approvals | to_entries[] | select(.value) | .key' <<<"${committed}"))"
  # shellcheck disable=SC2046,SC2086
  peer_cli "${org}" lifecycle chaincode approveformyorg -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" -v "${version}" \
    --package-id "${package_id}" --sequence "${seq}" ${defs} $(orderer_args) --waitForEvent >"${dir}/approve.log" 2>&1 \
    || die "approving the chaincode definition as ${org} failed; see ${dir}/approve.log"
  log "${org} installed the chaincode and approved sequence ${seq} (package ${package_id%%:*})"
}

# redefine_for_members DIR APPROVER... commits the committed chaincode
# package as the next sequence when its definition depends on the
# membership (a private data collections config listing the members, see
# chaincode_definition_args in lib.sh), approved by every organisation now
# in the channel; without such a config the definition does not name the
# members (MAJORITY Endorsement counts them) and nothing is done.
redefine_for_members() {
  local dir="$1" via="$2" committed seq version package_id defs org
  # shellcheck disable=SC2046
  defs="$(chaincode_definition_args "${dir}/next" $(active_orgs | while read -r o; do org_msp "${o}"; done))"
  [[ -n "${defs}" ]] || return 0
  committed="$(peer_cli "${via}" lifecycle chaincode querycommitted -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" -O json)"
  seq="$(jq -r .sequence <<<"${committed}")"; version="$(jq -r .version <<<"${committed}")"
  package_id="$(peer_cli "${via}" lifecycle chaincode queryapproved -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" --sequence "${seq}" -O json \
    | jq -r '.source.Type.LocalPackage.package_id // empty')"
  seq=$((seq + 1))
  for org in $(active_orgs); do
    # shellcheck disable=SC2046,SC2086
    peer_cli "${org}" lifecycle chaincode approveformyorg -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" -v "${version}" \
      --package-id "${package_id}" --sequence "${seq}" ${defs} $(orderer_args) --waitForEvent >"${dir}/approve-next-${org}.log" 2>&1 \
      || die "approving sequence ${seq} (collections of the new membership) as ${org} failed; see ${dir}/approve-next-${org}.log"
  done
  # shellcheck disable=SC2046,SC2086
  peer_cli "${via}" lifecycle chaincode commit -C "${LG_CHANNEL}" -n "${LG_CC_NAME}" -v "${version}" --sequence "${seq}" ${defs} \
    $(orderer_args) $(peers_args $(active_orgs)) --waitForEvent >"${dir}/commit-next.log" 2>&1 \
    || die "committing sequence ${seq} (collections of the new membership) failed; see ${dir}/commit-next.log"
  log "chaincode sequence ${seq} committed with the collections of members $(active_orgs | tr '\n' ' ')"
}

# wait_caught_up ORG VIA waits until ORG's peer has VIA's peer's height.
wait_caught_up() {
  local org="$1" via="$2" want got i
  want="$(peer_cli "${via}" channel getinfo -c "${LG_CHANNEL}" | sed 's/^Blockchain info: //' | jq .height)"
  for ((i = 0; i < 240; i++)); do
    got="$(peer_cli "${org}" channel getinfo -c "${LG_CHANNEL}" 2>/dev/null | sed 's/^Blockchain info: //' | jq .height 2>/dev/null || echo 0)"
    ((got >= want)) && { log "${org}'s peer caught up (height ${got})"; return 0; }
    sleep 0.25
  done
  die "${org}'s peer is at height ${got}, ${via}'s at ${want}, after 60 s"
}

# wait_answers_on ORG waits until the chaincode answers on ORG's peer.
wait_answers_on() {
  local i
  for ((i = 0; i < 240; i++)); do
    cc_query "$1" '{"Args":["system:Ping"]}' >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  die "the chaincode does not answer on $1's peer; see network/run/$(org_peer "$1")/$(org_peer "$1").log"
}

# --------------------------------------------------------------- commands ---

change_dir() {
  local d
  d="${LG_RUN}/org-changes/$1-$2-$(date +%Y%m%dT%H%M%S)"
  mkdir -p "${d}"
  echo "${d}"
}

cmd_add() {
  local org="$1" signers_arg="$2" dir msp via members signers endorsers start
  start="$(date +%s.%N)"
  msp="$(org_msp "${org}")"
  dir="$(change_dir add "${org}")"
  via="$(active_orgs | head -1)"
  fetch_config "${via}" "${dir}"
  if channel_msps "${dir}" | grep -qx "${msp}"; then
    die "${org} (${msp}) is already a member of channel ${LG_CHANNEL}: nothing changed"
  fi
  active_orgs | grep -qx "${org}" && die "${org} is listed in ${LG_ORGS_FILE} but not in the channel: remove the line or reset the network"
  mapfile -t signers < <(choose_signers "${dir}" "" "${signers_arg}")
  mapfile -t members < <(channel_msps "${dir}" | sed 's/MSP$//')

  # 1-2. crypto material, identities, peer.
  log "${org}: crypto material (cryptogen extend) and role identities (Fabric CA on :$(ca_port "${org}"))"
  sed -e "s#__ORG__#${org}#g" -e "s#__DOMAIN__#$(org_domain "${org}")#g" -e "s#__HOST__#$(org_host "${org}")#g" \
    "${LG_NET}/crypto-config-org.yaml" >"${dir}/crypto-config.yaml"
  "${LG_BIN}/cryptogen" extend --config="${dir}/crypto-config.yaml" --input="${LG_CRYPTO}" >/dev/null
  trap ca_cleanup EXIT
  with_ca "${org}" enroll_roles "${org}"
  trap - EXIT
  org_definition "${org}" "${dir}"
  rm -rf "$(node_dir "$(org_peer "${org}")")"
  start_node "$(org_peer "${org}")"

  # 3-4. channel update, signed by a majority of the members' admins.
  jq --arg m "${msp}" --slurpfile o "${dir}/org.json" '.channel_group.groups.Application.groups[$m] = $o[0]' \
    "${dir}/config.json" >"${dir}/modified_config.json"
  compute_update "${dir}"
  log "adding ${msp} to ${LG_CHANNEL}: members ${members[*]}, signing ${signers[*]} (a majority is $(majority "${#members[@]}"))"
  if ! (sign_and_submit "${dir}" "${signers[@]}"); then
    stop_node "$(org_peer "${org}")" TERM >/dev/null
    exit 1
  fi
  echo "${org}" >>"${LG_ORGS_FILE}"

  # 5. join from block 0 and catch up.
  # shellcheck disable=SC2046
  peer_cli "${org}" channel fetch 0 "${dir}/genesis.block" -c "${LG_CHANNEL}" $(orderer_args) >"${dir}/fetch0.log" 2>&1 \
    || die "${org} could not fetch block 0; see ${dir}/fetch0.log"
  peer_cli "${org}" channel join -b "${dir}/genesis.block" >"${dir}/join.log" 2>&1 \
    || die "${org}'s peer could not join ${LG_CHANNEL}; see ${dir}/join.log"
  wait_caught_up "${org}" "${via}"

  # 6. chaincode on the new peer, approved at the current sequence.
  approve_committed "${org}" "${dir}" "${via}"
  wait_answers_on "${org}"

  # 7. the consortium record: proposed and approved by a majority, the
  # transactions endorsed by every peer of the channel (the new one runs
  # the chaincode now; MAJORITY Endorsement already counts it).
  endorsers="$(active_orgs | tr '\n' ' ')"
  # shellcheck disable=SC2046
  change_membership add "${msp}" "${endorsers}" $(printf '%s\n' "${members[@]}" | head -n "$(majority "${#members[@]}")")
  redefine_for_members "${dir}" "${via}"

  # 8. connection profile.
  write_connection_profile "${org}"
  log "${org} joined in $(printf '%.1f' "$(echo "$(date +%s.%N) - ${start}" | bc)") s: network/run/connection-$(tr '[:upper:]' '[:lower:]' <<<"${org}").json"
}

cmd_remove() {
  local org="$1" signers_arg="$2" dir msp via members rest signers open
  msp="$(org_msp "${org}")"
  dir="$(change_dir remove "${org}")"
  via="$(active_orgs | grep -vx "${org}" | head -1 || true)"
  [[ -n "${via}" ]] || die "${org} is the last organisation of ${LG_CHANNEL}: the last member cannot leave"
  fetch_config "${via}" "${dir}"
  channel_msps "${dir}" | grep -qx "${msp}" || die "${org} (${msp}) is not a member of channel ${LG_CHANNEL}: nothing changed"
  mapfile -t members < <(channel_msps "${dir}" | sed 's/MSP$//')
  ((${#members[@]} > 1)) || die "${org} is the last organisation of ${LG_CHANNEL}: the last member cannot leave"
  mapfile -t rest < <(printf '%s\n' "${members[@]}" | grep -vx "${org}")
  mapfile -t signers < <(choose_signers "${dir}" "${org}" "${signers_arg}")
  # The ledger record changes before the channel does, so too few signers
  # are refused here, before anything changed (on a join the orderer's own
  # refusal is what stops it).
  ((${#signers[@]} >= $(majority "${#members[@]}"))) \
    || die "the channel update needs the signatures of a majority of the ${#members[@]} members ($(majority "${#members[@]}")), got ${#signers[@]} (${signers[*]}): nothing changed"
  open="$(open_responses "${org}" "${via}")"
  ((open == 0)) || die "${org} still holds ${open} response(s) awaiting approval (ledgerguard response list --state awaiting-approval --msp ${msp}): have them approved first; nothing changed"

  # The ledger record first, while the org can still endorse: a majority
  # of the current members (the others first; the leaving org may be one).
  if ledger_members "${via}" | grep -qx "${msp}"; then
    change_membership remove "${msp}" "${members[*]}" \
      $( (printf '%s\n' "${rest[@]}"; echo "${org}") | head -n "$(majority "${#members[@]}")")
  fi

  jq --arg m "${msp}" 'del(.channel_group.groups.Application.groups[$m])' "${dir}/config.json" >"${dir}/modified_config.json"
  compute_update "${dir}"
  log "removing ${msp} from ${LG_CHANNEL}: signing ${signers[*]} (a majority of ${#members[@]} is $(majority "${#members[@]}"))"
  sign_and_submit "${dir}" "${signers[@]}"
  stop_node "$(org_peer "${org}")" TERM
  grep -vx "${org}" "${LG_ORGS_FILE}" >"${LG_ORGS_FILE}.tmp" || true
  mv "${LG_ORGS_FILE}.tmp" "${LG_ORGS_FILE}"
  redefine_for_members "${dir}" "${via}"
  rm -rf "$(node_dir "$(org_peer "${org}")")" "${LG_RUN}/connection-$(tr '[:upper:]' '[:lower:]' <<<"${org}").json"
  log "${org} left ${LG_CHANNEL}; its identities can no longer submit or endorse (crypto material kept in network/run/crypto for audit)"
}

org_main() {
  enter_client_netns "$0" "$@"
  (($# >= 2)) || org_usage
  local cmd="$1" org signers=""
  org="$(parse_org "$2")"
  shift 2
  while (($# > 0)); do
    case "$1" in
      --signers) (($# >= 2)) || org_usage; signers="$2"; shift 2 ;;
      *) echo "error: unknown argument '$1'" >&2; org_usage ;;
    esac
  done
  require_bin peer configtxlator configtxgen cryptogen fabric-ca-server fabric-ca-client
  require_cmd jq bc
  cmd_status >/dev/null || die "the network is not (fully) up: run 'make network-up' first"
  case "${cmd}" in
    add) cmd_add "${org}" "${signers}" ;;
    remove) cmd_remove "${org}" "${signers}" ;;
    *) echo "error: unknown command '${cmd}'" >&2; org_usage ;;
  esac
}

org_main "$@"
