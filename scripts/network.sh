#!/usr/bin/env bash
# Native Hyperledger Fabric network for ledgerguard: three etcdraft orderers,
# one peer for each organisation (Org1 and Org2 at first start; scripts/org.sh
# adds and removes others), TLS everywhere, all on 127.0.0.1, one channel.
# Every node is a native process with a PID file and a log file under
# network/run/<node>/; nothing here needs Docker.
#
# Start-up does not wait on gossip: each org's anchor peer is in the
# channel's genesis block (network/configtx.yaml), every peer publishes its
# external endpoint from its first start, and gossip retries, state-info
# and alive intervals are short (see start_peer), so the peers see each
# other within a second or two of joining instead of after the default
# 25 s reconnect interval.
#
# With LEDGERGUARD_FABRIC_PROFILE=1 in the environment every node it starts,
# and each peer's chaincode process, serves Go's pprof (see profile_env and
# cc_profile_env; for benchmarks, off by default).
#
# Usage: scripts/network.sh up|down|reset|status|start-node NODE|stop-node NODE [--kill]
#        scripts/network.sh add-gateway ORG GATEWAY_ID...
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# FABRIC_PROFILE is LEDGERGUARD_FABRIC_PROFILE, read once (see profile_env).
readonly FABRIC_PROFILE="${LEDGERGUARD_FABRIC_PROFILE:-0}"

usage() {
  cat >&2 <<'USAGE'
usage: scripts/network.sh COMMAND
  up [--netns | --hosts FILE]
                     start the network (creates crypto material and the channel on first run);
                     --netns puts the orderers and each org in a network namespace of its own
                     (scripts/netns.sh, needs root), --hosts places nodes on the addresses of FILE
                     ("NODE ADDRESS" lines); both only for a fresh network
  prepare [--hosts FILE]
                     make crypto material and the genesis block only (first step on several machines)
  join               join the started nodes of a prepared network to the channel (last step)
  down               stop exactly the processes this script started
  reset              stop the network and delete all its state (network/run)
  status             print each node's state; exit 0 only if all run
  start-node NODE    start one stopped node (orderer1..3, peer0.orgN)
  stop-node NODE [--kill]  stop one node (SIGTERM, or SIGKILL with --kill)
  add-gateway ORG GATEWAY_ID...
                     enrol identity gateway-GATEWAY_ID of ORG (Org1, Org2, ...), its
                     certificate bound to that gateway id (ledgerguard.gateway);
                     a gateway's ledger.identity is then gateway-GATEWAY_ID.
                     Idempotent; needs the crypto material of 'up', not a running network.
USAGE
  exit 2
}

node_dir() { echo "${LG_RUN}/$1"; }

# netns_prefix NODE prints the command words that run a program in NODE's
# network namespace ("ip netns exec NS"), or nothing.
netns_prefix() {
  local ns
  ns="$(node_netns "$1")"
  [[ -z "${ns}" ]] || echo "ip netns exec ${ns}"
}

# render_hosts FILE replaces each __HOST_<node>__ placeholder in FILE (a
# committed template) by that node's address and prints the result.
render_hosts() {
  local file="$1" args=() node
  for node in orderer1 orderer2 orderer3 $(for o in 1 2 3 4 5 6 7 8 9; do echo "peer0.org${o}"; done); do
    args+=(-e "s#__HOST_${node}__#$(node_host "${node}")#g")
  done
  sed "${args[@]}" "${file}"
}
node_pidfile() { echo "${LG_RUN}/$1/pid"; }

# ---------------------------------------------------------------- crypto ---

generate_crypto() {
  log "generating crypto material (cryptogen) into network/run/crypto"
  mkdir -p "${LG_RUN}/channel"
  # Certificates name each node's address (from the hosts file, 127.0.0.1
  # by default) besides 127.0.0.1 and localhost.
  render_hosts "${LG_NET}/crypto-config.yaml" >"${LG_RUN}/channel/crypto-config.yaml"
  "${LG_BIN}/cryptogen" generate --config="${LG_RUN}/channel/crypto-config.yaml" --output="${LG_CRYPTO}" >/dev/null
  # Each org's CA has its own port and lock: enrol them side by side.
  local org pids=() pid
  for org in "${LG_FIRST_ORGS[@]}"; do
    (trap ca_cleanup EXIT; with_ca "${org}" enroll_roles "${org}") &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "${pid}" || die "enrolling role identities failed (see the messages above)"
  done
  printf '%s\n' "${LG_FIRST_ORGS[@]}" >"${LG_ORGS_FILE}"
}

# ------------------------------------------------------------- Fabric CA ---
# Each org's Fabric CA runs on the cryptogen root key only while identities
# are enrolled, on a fixed port, so every use of it holds the org's CA lock
# (flock on fd 9, which the CA process itself does not inherit): parallel
# calls wait for each other instead of clashing on the port.

ca_home() { echo "${LG_RUN}/ca.$(org_domain "$1")"; }

# ca_lock ORG takes the org's CA lock (bounded wait); the lock is released
# by ca_unlock or when the process exits.
ca_lock() {
  local home
  home="$(ca_home "$1")"
  mkdir -p "${home}"
  exec 9>>"${home}/lock"
  flock -w 600 9 || die "the Fabric CA of $1 stayed locked for 10 minutes ($(ca_home "$1")/lock)"
}
ca_unlock() { flock -u 9 2>/dev/null || true; exec 9>&-; }

# The CA this process started (at most one at a time), for ca_stop.
LG_CA_PID=""

# ca_start ORG starts the org's CA and enrols its bootstrap registrar.
ca_start() {
  local org="$1" port domain ca_dir home
  port="$(ca_port "${org}")"; domain="$(org_domain "${org}")"; home="$(ca_home "${org}")"
  ca_dir="${LG_CRYPTO}/peerOrganizations/${domain}/ca"
  local i
  for ((i = 0; i < 20; i++)); do
    port_busy "${port}" || break
    sleep 0.25
  done
  ((i < 20)) || die "port ${port} (Fabric CA of ${org}) is already in use"
  "${LG_BIN}/fabric-ca-server" start --home "${home}" -b "bootstrap:bootstrappw" \
    --address 127.0.0.1 --port "${port}" --ca.name "ca.${domain}" \
    --ca.certfile "${ca_dir}/ca.${domain}-cert.pem" --ca.keyfile "$(ls "${ca_dir}"/*_sk)" \
    --registry.maxenrollments -1 --operations.listenaddress 127.0.0.1:0 \
    >>"${home}/ca.log" 2>&1 9>&- &
  LG_CA_PID=$!
  wait_http "http://127.0.0.1:${port}/cainfo" 80 0.25 || die "Fabric CA of ${org} did not start; see ${home}/ca.log"
  "${LG_BIN}/fabric-ca-client" enroll -u "http://bootstrap:bootstrappw@127.0.0.1:${port}" --home "${home}/client" >/dev/null 2>&1 \
    || die "enrolling the CA bootstrap identity of ${org} failed"
}

# ca_stop stops the CA this process started, if any, and waits until it
# has exited (so the port is free for the next holder of the lock).
ca_stop() {
  local i pid="${LG_CA_PID}"
  [[ -n "${pid}" ]] || return 0
  LG_CA_PID=""
  kill "${pid}" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.25
  done
  kill -KILL "${pid}" 2>/dev/null || true
  wait "${pid}" 2>/dev/null || true
}

# enroll_identity ORG NAME ATTRS registers client identity NAME with the
# certificate attributes ATTRS (fabric-ca-client --id.attrs syntax) at the
# org's running CA, or updates the attributes of an existing registration,
# and enrols it into users/NAME@DOMAIN/msp with the layout the connection
# profile's x-ledgerguard-users folder expects (keystore/priv_sk).
enroll_identity() {
  local org="$1" name="$2" attrs="$3"
  local port domain home ca_dir msp
  port="$(ca_port "${org}")"; domain="$(org_domain "${org}")"; home="$(ca_home "${org}")"
  ca_dir="${LG_CRYPTO}/peerOrganizations/${domain}/ca"
  if ! "${LG_BIN}/fabric-ca-client" register --home "${home}/client" -u "http://127.0.0.1:${port}" \
    --id.name "${name}" --id.secret "${name}pw" --id.type client --id.attrs "${attrs}" >/dev/null 2>"${home}/register.err"; then
    # Registered before (its certificate predates its attributes): set them.
    "${LG_BIN}/fabric-ca-client" identity modify "${name}" --home "${home}/client" -u "http://127.0.0.1:${port}" \
      --secret "${name}pw" --attrs "${attrs}" >/dev/null 2>>"${home}/register.err" \
      || die "registering ${name} for ${org} failed; see ${home}/register.err"
  fi
  msp="${LG_CRYPTO}/peerOrganizations/${domain}/users/${name}@${domain}/msp"
  rm -rf "${msp}"
  "${LG_BIN}/fabric-ca-client" enroll -u "http://${name}:${name}pw@127.0.0.1:${port}" --mspdir "${msp}" --home "${home}/client" >/dev/null 2>&1 \
    || die "enrolling ${name} for ${org} failed"
  mv "${msp}/keystore/"*_sk "${msp}/keystore/priv_sk"
  cp "${LG_CRYPTO}/peerOrganizations/${domain}/msp/config.yaml" "${msp}/config.yaml"
  rm -f "${msp}/cacerts/"* && cp "${ca_dir}/ca.${domain}-cert.pem" "${msp}/cacerts/"
  mkdir -p "${msp}/tlscacerts" && cp "$(peer_tls_ca "${org}")" "${msp}/tlscacerts/"
}

# gateway_attrs ID prints the attributes of a gateway identity bound to ID.
gateway_attrs() { echo "ledgerguard.role=gateway:ecert,ledgerguard.gateway=$1:ecert"; }

# gateway_bound ORG NAME ID succeeds when identity NAME of ORG is enrolled
# with a certificate bound to gateway ID (both attributes present).
gateway_bound() {
  local domain msp der
  domain="$(org_domain "$1")"
  msp="${LG_CRYPTO}/peerOrganizations/${domain}/users/$2@${domain}/msp"
  [[ -f "${msp}/keystore/priv_sk" && -f "${msp}/signcerts/cert.pem" ]] || return 1
  # The attributes are a JSON object inside a certificate extension.
  der="$(sed '/-----/d' "${msp}/signcerts/cert.pem" | base64 -d 2>/dev/null | tr -c '[:print:]' '\n')"
  grep -qF "\"ledgerguard.gateway\":\"$3\"" <<<"${der}" && grep -qF '"ledgerguard.role":"gateway"' <<<"${der}"
}

# default_gateway_id ORG prints the gateway id the org's default `gateway`
# identity is bound to (network/gateway-dev.yaml runs org1-gateway-1).
default_gateway_id() { echo "$(tr '[:upper:]' '[:lower:]' <<<"$1")-gateway-1"; }

# enroll_roles ORG enrols the role identities whose certificates carry the
# ledgerguard.role attribute the chaincode checks; the default `gateway`
# identity is bound to the org's default gateway id. The caller holds the
# CA lock and has started the CA.
enroll_roles() {
  local org="$1" role
  log "enrolling ${org} role identities (gateway bound to $(default_gateway_id "${org}"), author, analyst, auditor, intel) with Fabric CA on :$(ca_port "${org}")"
  enroll_identity "${org}" gateway "$(gateway_attrs "$(default_gateway_id "${org}")")"
  for role in author analyst auditor intel; do
    enroll_identity "${org}" "${role}" "ledgerguard.role=${role}:ecert"
  done
}

# with_ca ORG FN ARGS... runs FN with the org's CA running and locked, and
# stops the CA afterwards (also when FN dies: see ca_cleanup).
with_ca() {
  local org="$1"; shift
  ca_lock "${org}"
  ca_start "${org}"
  "$@"
  ca_stop
  ca_unlock
}

ca_cleanup() { ca_stop; }

# ensure_gateways ORG NAME=ID... enrols each identity NAME of ORG bound to
# gateway ID unless it already is, starting the CA only when one is
# missing. Checked again under the lock: a parallel call may have enrolled
# it meanwhile.
ensure_gateways() {
  local org="$1"; shift
  local pair missing=() todo=()
  for pair in "$@"; do
    gateway_bound "${org}" "${pair%%=*}" "${pair#*=}" || missing+=("${pair}")
  done
  ((${#missing[@]} > 0)) || return 0
  ca_lock "${org}"
  for pair in "${missing[@]}"; do
    gateway_bound "${org}" "${pair%%=*}" "${pair#*=}" || todo+=("${pair}")
  done
  if ((${#todo[@]} > 0)); then
    ca_start "${org}"
    for pair in "${todo[@]}"; do
      enroll_identity "${org}" "${pair%%=*}" "$(gateway_attrs "${pair#*=}")"
      log "${org}: identity ${pair%%=*} enrolled, bound to gateway ${pair#*=}"
    done
    ca_stop
  fi
  ca_unlock
}

generate_channel_block() {
  log "creating the genesis block of channel ${LG_CHANNEL} (configtxgen)"
  mkdir -p "${LG_RUN}/channel"
  # configtx.yaml names its MSP folders relative to the run folder.
  render_hosts "${LG_NET}/configtx.yaml" | sed "s#: run/crypto/#: ${LG_CRYPTO}/#" >"${LG_RUN}/channel/configtx.yaml"
  FABRIC_CFG_PATH="${LG_RUN}/channel" "${LG_BIN}/configtxgen" -profile LedgerguardChannel \
    -outputBlock "${LG_RUN}/channel/${LG_CHANNEL}.block" -channelID "${LG_CHANNEL}" 2>"${LG_RUN}/channel/configtxgen.log" \
    || die "configtxgen failed; see network/run/channel/configtxgen.log"
}

# --------------------------------------------------------------- processes ---

start_orderer() {
  local node="$1"
  local dir port admin ops tls msp
  dir="$(node_dir "${node}")"; port="$(node_field "${node}" 4)"; admin="$(node_field "${node}" 5)"; ops="$(node_field "${node}" 6)"
  local host pre=()
  host="$(node_host "${node}")"
  read -ra pre <<<"$(netns_prefix "${node}")"
  tls="${LG_CRYPTO}/ordererOrganizations/example.com/orderers/${node}.example.com/tls"
  msp="${LG_CRYPTO}/ordererOrganizations/example.com/orderers/${node}.example.com/msp"
  mkdir -p "${dir}/data" "${dir}/tmp"
  local prof=()
  read -ra prof <<<"$(profile_env "${node}" ORDERER_GENERAL_PROFILE "${FABRIC_PROFILE}")"
  setsid "${pre[@]}" env \
    TMPDIR="${dir}/tmp" \
    FABRIC_CFG_PATH="${LG_NET}/config" \
    FABRIC_LOGGING_SPEC="info" \
    ORDERER_GENERAL_LISTENADDRESS="${host}" \
    ORDERER_GENERAL_LISTENPORT="${port}" \
    ORDERER_GENERAL_LOCALMSPID=OrdererMSP \
    ORDERER_GENERAL_LOCALMSPDIR="${msp}" \
    ORDERER_GENERAL_TLS_ENABLED=true \
    ORDERER_GENERAL_TLS_PRIVATEKEY="${tls}/server.key" \
    ORDERER_GENERAL_TLS_CERTIFICATE="${tls}/server.crt" \
    ORDERER_GENERAL_TLS_ROOTCAS="[${tls}/ca.crt]" \
    ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="${tls}/server.crt" \
    ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="${tls}/server.key" \
    ORDERER_GENERAL_CLUSTER_ROOTCAS="[${tls}/ca.crt]" \
    ORDERER_GENERAL_BOOTSTRAPMETHOD=none \
    ORDERER_CHANNELPARTICIPATION_ENABLED=true \
    ORDERER_ADMIN_LISTENADDRESS="${host}:${admin}" \
    ORDERER_ADMIN_TLS_ENABLED=true \
    ORDERER_ADMIN_TLS_CERTIFICATE="${tls}/server.crt" \
    ORDERER_ADMIN_TLS_PRIVATEKEY="${tls}/server.key" \
    ORDERER_ADMIN_TLS_ROOTCAS="[${tls}/ca.crt]" \
    ORDERER_ADMIN_TLS_CLIENTROOTCAS="[${tls}/ca.crt]" \
    ORDERER_OPERATIONS_LISTENADDRESS="${host}:${ops}" \
    ORDERER_FILELEDGER_LOCATION="${dir}/data/ledger" \
    ORDERER_CONSENSUS_WALDIR="${dir}/data/etcdraft/wal" \
    ORDERER_CONSENSUS_SNAPDIR="${dir}/data/etcdraft/snapshot" \
    "${prof[@]}" \
    "${LG_BIN}/orderer" >>"${dir}/${node}.log" 2>&1 </dev/null &
  echo $! >"$(node_pidfile "${node}")"
}

# profile_port NODE prints the port a node serves Go's pprof on when
# LEDGERGUARD_FABRIC_PROFILE=1: its operations port + 3 (27055, 27065,
# 27075 for the orderers, 27N56 for the peer of OrgN, free in the node
# table's layout).
profile_port() { echo $(($(node_field "$1" 6) + 3)); }

# profile_env NODE PREFIX ENABLED prints the environment words that turn on
# the node's pprof listener (PREFIX_ENABLED, PREFIX_ADDRESS or
# PREFIX_LISTENADDRESS) when ENABLED is 1 (LEDGERGUARD_FABRIC_PROFILE=1, a bench-only
# switch, see README "Fabric network CPU"), else a harmless placeholder:
# profiling is off by default because a listener on every node is an
# open debug endpoint, not because it costs CPU while idle. The listeners
# bind the loopback address even when the node table puts the node on
# another (multi-host): they have no authentication.
profile_env() {
  local node="$1" prefix="$2" enabled="$3" addr
  if [[ "${enabled}" != 1 ]]; then
    echo "LEDGERGUARD_FABRIC_PROFILE=0"
    return 0
  fi
  addr="127.0.0.1:$(profile_port "${node}")"
  case "${prefix}" in
    CORE_PEER_PROFILE) echo "${prefix}_ENABLED=true ${prefix}_LISTENADDRESS=${addr}" ;;
    *) echo "${prefix}_ENABLED=true ${prefix}_ADDRESS=${addr}" ;;
  esac
}

# cc_profile_env NODE ENABLED prints the environment word that makes the
# chaincode process the peer launches serve Go's pprof on the peer's
# operations port + 4 (27157 for Org1's, 27257 for Org2's; chaincode/pprof.go)
# when ENABLED is 1 (LEDGERGUARD_FABRIC_PROFILE=1), else the variable empty
# (no listener), on the loopback address as profile_env's. The peer
# passes it on through core.yaml's propagateEnvironment.
cc_profile_env() {
  local node="$1" enabled="$2"
  if [[ "${enabled}" != 1 ]]; then
    echo "LEDGERGUARD_CC_PPROF="
    return 0
  fi
  echo "LEDGERGUARD_CC_PPROF=127.0.0.1:$(($(node_field "${node}" 6) + 4))"
}

# cc_cache prints the folder of chaincode binaries the builder reuses, keyed
# by the sha256 of the package's source tree: outside network/run, so a
# reset network installs an unchanged chaincode without rebuilding it.
cc_cache() { echo "${LG_ROOT}/.cache/chaincode"; }

render_core_yaml() {
  local dir="$1"
  mkdir -p "${dir}/config"
  sed "s#__LEDGERGUARD_BUILDER_DIR__#${LG_NET}/builders/golang#" "${LG_NET}/config/core.yaml" >"${dir}/config/core.yaml"
}

start_peer() {
  local node="$1"
  local dir port ccport ops org domain tls msp
  dir="$(node_dir "${node}")"; port="$(node_field "${node}" 4)"; ccport="$(node_field "${node}" 5)"; ops="$(node_field "${node}" 6)"
  org="$(org_of_peer "${node}")"; domain="$(org_domain "${org}")"
  local host pre=()
  host="$(node_host "${node}")"
  read -ra pre <<<"$(netns_prefix "${node}")"
  tls="${LG_CRYPTO}/peerOrganizations/${domain}/peers/peer0.${domain}/tls"
  msp="${LG_CRYPTO}/peerOrganizations/${domain}/peers/peer0.${domain}/msp"
  mkdir -p "${dir}/data" "${dir}/tmp" "$(cc_cache)"
  render_core_yaml "${dir}"
  local prof=()
  read -ra prof <<<"$(profile_env "${node}" CORE_PEER_PROFILE "${FABRIC_PROFILE}")"
  prof+=("$(cc_profile_env "${node}" "${FABRIC_PROFILE}")")
  # Gossip: bootstrap is the peer itself (one peer per org), the external
  # endpoint makes it known to other orgs from the first start, and the
  # short intervals let a peer that joined the channel before the others
  # retry them in 1 s instead of 25 s (the default reconnect interval):
  # the first dial to an anchor peer that has not joined yet is refused.
  setsid "${pre[@]}" env \
    TMPDIR="${dir}/tmp" \
    LEDGERGUARD_CC_CACHE="$(cc_cache)" \
    GOTOOLCHAIN=local \
    FABRIC_CFG_PATH="${dir}/config" \
    FABRIC_LOGGING_SPEC="info:gossip=warning:msp=warning" \
    CORE_PEER_ID="peer0.${domain}" \
    CORE_PEER_ADDRESS="${host}:${port}" \
    CORE_PEER_LISTENADDRESS="${host}:${port}" \
    CORE_PEER_CHAINCODEADDRESS="${host}:${ccport}" \
    CORE_PEER_CHAINCODELISTENADDRESS="${host}:${ccport}" \
    CORE_PEER_GOSSIP_BOOTSTRAP="${host}:${port}" \
    CORE_PEER_GOSSIP_EXTERNALENDPOINT="${host}:${port}" \
    CORE_PEER_GOSSIP_RECONNECTINTERVAL=1s \
    CORE_PEER_GOSSIP_ALIVETIMEINTERVAL=1s \
    CORE_PEER_GOSSIP_ALIVEEXPIRATIONTIMEOUT=10s \
    CORE_PEER_GOSSIP_PUBLISHSTATEINFOINTERVAL=1s \
    CORE_PEER_GOSSIP_REQUESTSTATEINFOINTERVAL=1s \
    CORE_PEER_GOSSIP_MEMBERSHIPTRACKERINTERVAL=1s \
    CORE_PEER_GOSSIP_PULLINTERVAL=2s \
    CORE_PEER_LOCALMSPID="$(org_msp "${org}")" \
    CORE_PEER_MSPCONFIGPATH="${msp}" \
    CORE_PEER_TLS_ENABLED=true \
    CORE_PEER_TLS_CERT_FILE="${tls}/server.crt" \
    CORE_PEER_TLS_KEY_FILE="${tls}/server.key" \
    CORE_PEER_TLS_ROOTCERT_FILE="${tls}/ca.crt" \
    CORE_PEER_FILESYSTEMPATH="${dir}/data" \
    CORE_LEDGER_SNAPSHOTS_ROOTDIR="${dir}/data/snapshots" \
    CORE_OPERATIONS_LISTENADDRESS="${host}:${ops}" \
    CORE_CHAINCODE_EXECUTETIMEOUT=60s \
    "${prof[@]}" \
    "${LG_BIN}/peer" node start >>"${dir}/${node}.log" 2>&1 </dev/null &
  echo $! >"$(node_pidfile "${node}")"
}

start_node() {
  local node="$1" kind ops
  kind="$(node_field "${node}" 2)"
  ops="$(node_field "${node}" 6)"
  if pid_alive "$(node_pidfile "${node}")"; then
    die "${node} is already running (pid $(cat "$(node_pidfile "${node}")"))"
  fi
  local p
  for p in $(node_field "${node}" 4) $(node_field "${node}" 5) "${ops}"; do
    [[ -z "$(node_netns "${node}")" ]] && port_busy "${p}" && die "port ${p} needed by ${node} is already in use by another process"
  done
  mkdir -p "$(node_dir "${node}")"
  local ns
  ns="$(node_netns "${node}")"
  if [[ -n "${ns}" ]]; then
    "${LG_ROOT}/scripts/netns.sh" ensure "${ns}" "$(node_host "${node}")"
  fi
  case "${kind}" in
    orderer) start_orderer "${node}" ;;
    peer) start_peer "${node}" ;;
  esac
  if ! wait_http "http://$(node_host "${node}"):${ops}/healthz" 120 0.25; then
    die "${node} did not become healthy; see network/run/${node}/${node}.log"
  fi
  log "${node} running (pid $(cat "$(node_pidfile "${node}")"), log network/run/${node}/${node}.log)"
}

# stop_node NODE SIGNAL stops the node's process and its process group (the
# chaincode processes a peer launched), bounded: SIGKILL after 20 s.
stop_node() {
  local node="$1" sig="$2" pidfile pid i
  pidfile="$(node_pidfile "${node}")"
  if ! pid_alive "${pidfile}"; then
    rm -f "${pidfile}"
    return 0
  fi
  pid="$(cat "${pidfile}")"
  kill "-${sig}" -- "-${pid}" 2>/dev/null || kill "-${sig}" "${pid}" 2>/dev/null || true
  for ((i = 0; i < 80; i++)); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "${pid}" 2>/dev/null; then
    kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}" 2>/dev/null || true
  fi
  # The group may still hold a chaincode process the peer launched.
  kill -KILL -- "-${pid}" 2>/dev/null || true
  rm -f "${pidfile}"
  log "${node} stopped (${sig})"
}

# ----------------------------------------------------------------- channel ---

join_orderers() {
  local node admin tls
  for node in orderer1 orderer2 orderer3; do
    admin="$(node_field "${node}" 5)"
    tls="${LG_CRYPTO}/ordererOrganizations/example.com/orderers/${node}.example.com/tls"
    "${LG_BIN}/osnadmin" channel join --channelID "${LG_CHANNEL}" --config-block "${LG_RUN}/channel/${LG_CHANNEL}.block" \
      -o "$(node_host "${node}"):${admin}" --ca-file "${tls}/ca.crt" --client-cert "${tls}/server.crt" --client-key "${tls}/server.key" >/dev/null \
      || die "${node} could not join channel ${LG_CHANNEL}"
  done
  log "orderers joined channel ${LG_CHANNEL}"
}

join_peers() {
  local org i
  for org in $(active_orgs); do
    for ((i = 0; i < 40; i++)); do
      if peer_cli "${org}" channel join -b "${LG_RUN}/channel/${LG_CHANNEL}.block" >"${LG_RUN}/channel/join-${org}.log" 2>&1; then
        break
      fi
      sleep 0.5
    done
    ((i < 40)) || die "peer of ${org} could not join ${LG_CHANNEL}; see network/run/channel/join-${org}.log"
  done
  log "peers joined channel ${LG_CHANNEL}"
}

# wait_raft_leader waits (bounded) until an orderer leads the channel's raft
# cluster: until then orderers refuse transactions (SERVICE_UNAVAILABLE), so
# `up` returns only when the network can take one.
wait_raft_leader() {
  local i node
  for ((i = 0; i < 240; i++)); do
    for node in orderer1 orderer2 orderer3; do
      if curl -fsS --max-time 2 "http://$(node_host "${node}"):$(node_field "${node}" 6)/metrics" 2>/dev/null \
        | grep -q "^consensus_etcdraft_is_leader{channel=\"${LG_CHANNEL}\"} 1"; then
        log "raft leader of ${LG_CHANNEL}: ${node}"
        return 0
      fi
    done
    sleep 0.25
  done
  die "no orderer leads channel ${LG_CHANNEL} after 60 s; see network/run/orderer*/orderer*.log"
}

# write_connection_profile ORG writes Fabric's common connection profile.
write_connection_profile() {
  local org="$1"
  local domain msp peer port user_dir out
  domain="$(org_domain "${org}")"; msp="$(org_msp "${org}")"; peer="peer0.${domain}"; port="$(peer_port "${org}")"
  user_dir="${LG_CRYPTO}/peerOrganizations/${domain}/users/Admin@${domain}/msp"
  out="${LG_RUN}/connection-$(tr '[:upper:]' '[:lower:]' <<<"${org}").json"
  jq -n \
    --arg org "${org}" --arg msp "${msp}" --arg peer "${peer}" --arg url "grpcs://$(org_host "${org}"):${port}" \
    --arg tlsca "$(peer_tls_ca "${org}")" --arg key "${user_dir}/keystore/priv_sk" \
    --arg cert "${user_dir}/signcerts/Admin@${domain}-cert.pem" --arg channel "${LG_CHANNEL}" \
    --arg users "${LG_CRYPTO}/peerOrganizations/${domain}/users" \
    '{
      name: ("ledgerguard-" + ($org | ascii_downcase)),
      version: "1.0.0",
      client: {organization: $org, connection: {timeout: {peer: {endorser: "300"}}}},
      organizations: {($org): {
        mspid: $msp, peers: [$peer],
        adminPrivateKey: {path: $key}, signedCert: {path: $cert},
        "x-ledgerguard-users": $users
      }},
      peers: {($peer): {
        url: $url, tlsCACerts: {path: $tlsca},
        grpcOptions: {"ssl-target-name-override": $peer, hostnameOverride: $peer}
      }},
      channels: {($channel): {peers: {($peer): {endorsingPeer: true, chaincodeQuery: true, ledgerQuery: true, eventSource: true}}}}
    }' >"${out}"
}

# ---------------------------------------------------------------- commands ---

all_running() {
  local node
  for node in $(node_names); do
    pid_alive "$(node_pidfile "${node}")" || return 1
  done
}

any_running() {
  local node
  for node in $(node_names); do
    pid_alive "$(node_pidfile "${node}")" && return 0
  done
  return 1
}

cmd_status() {
  local node state rc=0
  for node in $(node_names); do
    if pid_alive "$(node_pidfile "${node}")"; then
      state="running (pid $(cat "$(node_pidfile "${node}")"))"
    else
      state="stopped"; rc=1
    fi
    printf '%-12s %s\n' "${node}" "${state}"
  done
  return "${rc}"
}

# cmd_up starts every node; on any failure it stops what it started, so no
# half-started network is left behind.
# place_nodes MODE [FILE] writes the hosts file of a fresh network: the
# namespace layout of scripts/netns.sh (--netns) or an operator's list
# (--hosts FILE, "NODE ADDRESS" per line, see README "Multi-host").
place_nodes() {
  local mode="$1" file="${2:-}"
  if [[ -f "${LG_RUN}/.channel-created" ]]; then
    die "the network state in ${LG_RUN} exists: ${mode} places the nodes of a fresh network ('make network-reset' first)"
  fi
  rm -rf "${LG_RUN}"
  mkdir -p "${LG_RUN}"
  case "${mode}" in
    --netns)
      [[ "$(id -u)" == 0 ]] || die "--netns needs root (ip netns); CI and this machine run tests as root"
      require_cmd ip
      "${LG_ROOT}/scripts/netns.sh" layout >"${LG_HOSTS_FILE}"
      "${LG_ROOT}/scripts/netns.sh" ensure lg-client "$(node_host client)" ;;
    --hosts)
      [[ -f "${file}" ]] || die "hosts file '${file}' not found"
      grep -vE '^\s*(#|$)' "${file}" >"${LG_HOSTS_FILE}" ;;
  esac
}

# prepare_material makes the crypto material and the channel's genesis
# block of a fresh network; a fresh start keeps only the placement of the
# nodes (the hosts file).
prepare_material() {
  find "${LG_RUN}" -mindepth 1 -maxdepth 1 ! -name hosts -exec rm -rf {} + 2>/dev/null || true
  mkdir -p "${LG_RUN}"
  generate_crypto
  generate_channel_block
  touch "${LG_RUN}/.prepared"
}

# cmd_prepare [--hosts FILE] is the first step of a network on several
# machines: crypto material (certificates naming each node's address) and
# the genesis block, made once on one machine; nothing is started.
cmd_prepare() {
  if [[ $# -gt 0 ]]; then
    [[ "$1" == --hosts && $# -eq 2 ]] || usage
    place_nodes --hosts "$2"
  fi
  require_bin configtxgen cryptogen fabric-ca-server fabric-ca-client
  [[ -f "${LG_RUN}/.channel-created" ]] && die "the network in ${LG_RUN} exists already"
  prepare_material
  log "prepared ${LG_RUN}: copy it to every host, run 'scripts/network.sh start-node NODE' there for its nodes, then 'scripts/network.sh join' from a machine that reaches them all"
}

# cmd_join joins the started orderers and peers of a prepared network to
# the channel and writes the connection profiles (the last step of a
# network on several machines).
cmd_join() {
  require_bin peer osnadmin
  [[ -f "${LG_RUN}/.prepared" ]] || die "nothing prepared in ${LG_RUN}: run 'scripts/network.sh prepare --hosts FILE' first"
  [[ -f "${LG_RUN}/.channel-created" ]] && die "the channel exists already"
  join_orderers
  join_peers
  touch "${LG_RUN}/.channel-created"
  local org
  for org in $(active_orgs); do ensure_gateways "${org}" "gateway=$(default_gateway_id "${org}")"; done
  wait_raft_leader
  for org in $(active_orgs); do write_connection_profile "${org}"; done
  log "channel ${LG_CHANNEL} joined; connection profiles in ${LG_RUN}"
}

cmd_up() {
  if [[ $# -gt 0 ]]; then
    case "$1" in
      --netns) place_nodes --netns ;;
      --hosts) [[ $# -eq 2 ]] || usage; place_nodes --hosts "$2" ;;
      *) usage ;;
    esac
  fi
  enter_client_netns "$0" up
  require_bin peer orderer osnadmin configtxgen cryptogen fabric-ca-server fabric-ca-client
  require_cmd jq curl setsid
  if any_running; then
    cmd_status || true
    die "the network is already up (or partly up): run 'make network-down' first"
  fi
  local node p
  for node in $(node_names); do
    [[ -z "$(node_netns "${node}")" ]] || continue # a fresh namespace has every port free
    for p in $(node_field "${node}" 4) $(node_field "${node}" 5) $(node_field "${node}" 6); do
      port_busy "${p}" && die "port ${p} needed by ${node} is already in use by another process"
    done
  done
  trap 'on_up_failure' ERR EXIT
  local fresh=false
  if [[ ! -f "${LG_RUN}/.channel-created" ]]; then
    fresh=true
    if [[ ! -f "${LG_RUN}/.prepared" ]]; then
      prepare_material
    fi
  fi
  for node in orderer1 orderer2 orderer3; do start_node "${node}"; done
  if [[ "${fresh}" == true ]]; then join_orderers; fi
  local org
  for org in $(active_orgs); do start_node "$(org_peer "${org}")"; done
  if [[ "${fresh}" == true ]]; then
    join_peers
    touch "${LG_RUN}/.channel-created"
  fi
  # A network whose state predates gateway binding: bind the default
  # gateway identities now (a no-op when they are).
  for org in $(active_orgs); do ensure_gateways "${org}" "gateway=$(default_gateway_id "${org}")"; done
  wait_raft_leader
  for org in $(active_orgs); do write_connection_profile "${org}"; done
  trap - ERR EXIT
  log "network up: channel ${LG_CHANNEL}; organisations $(active_orgs | tr '\n' ' '); connection profiles network/run/connection-orgN.json"
}

on_up_failure() {
  local rc=$?
  trap - ERR EXIT
  if ((rc != 0)); then
    echo "network up failed; stopping the nodes it started" >&2
    ca_cleanup
    cmd_down >&2 || true
  fi
  exit "${rc}"
}

cmd_down() {
  local node pids=()
  stop_service gateway "${LG_RUN}/gateway.pid"
  stop_service "demo receiver" "${LG_RUN}/receiver.pid"
  # Signal every node first and wait afterwards: each takes a moment to
  # shut down cleanly, and they need not do it one after another.
  for node in $(node_names | tac); do
    stop_node "${node}" TERM &
    pids+=($!)
  done
  for node in "${pids[@]}"; do wait "${node}" || true; done
  log "network down"
}

# canonical_org ARG prints OrgN for OrgN, orgN or OrgNMSP of an org the
# network runs; anything else is refused with exit code 2.
canonical_org() {
  local org
  if [[ "$1" =~ ^[Oo]rg([1-9])(MSP)?$ ]]; then
    org="Org${BASH_REMATCH[1]}"
    if active_orgs | grep -qx "${org}"; then
      echo "${org}"
      return 0
    fi
  fi
  echo "error: unknown org '$1' (known: $(active_orgs | tr '\n' ' '))" >&2
  exit 2
}

# valid_gateway_id ID refuses (exit code 2) an id that cannot name a
# gateway and its identity: 1..100 characters of [A-Za-z0-9._-], starting
# with a letter or digit (a subset of what the chaincode accepts, so the
# identity's name and folder and the CA's attribute syntax hold it as is).
valid_gateway_id() {
  if [[ ! "$1" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$ ]]; then
    echo "error: invalid gateway id '$1': want 1..100 characters of [A-Za-z0-9._-], starting with a letter or digit" >&2
    exit 2
  fi
}

# cmd_add_gateway ORG ID... enrols identity gateway-ID of ORG bound to
# gateway ID for each ID; ids already enrolled so are left alone.
cmd_add_gateway() {
  (($# >= 2)) || usage
  local org id pairs=()
  org="$(canonical_org "$1")"; shift
  for id in "$@"; do
    valid_gateway_id "${id}"
    pairs+=("gateway-${id}=${id}")
  done
  [[ -d "${LG_CRYPTO}/peerOrganizations/$(org_domain "${org}")/ca" ]] \
    || die "no crypto material in ${LG_CRYPTO}: run 'scripts/network.sh up' first"
  require_bin fabric-ca-server fabric-ca-client
  trap ca_cleanup EXIT
  # Progress to stderr: stdout carries only the identity names.
  ensure_gateways "${org}" "${pairs[@]}" >&2
  for id in "$@"; do
    echo "gateway-${id}"
  done
}

cmd_reset() {
  cmd_down
  if [[ -n "$(client_netns)" ]]; then
    "${LG_ROOT}/scripts/netns.sh" destroy
  fi
  rm -rf "${LG_RUN}"
  log "network state deleted (network/run)"
}

main() {
  [[ $# -ge 1 ]] || usage
  local cmd="$1"; shift
  case "${cmd}" in
    up | down | reset) ;; # up enters the client namespace once the nodes are placed
    *) enter_client_netns "$0" "${cmd}" "$@" ;;
  esac
  case "${cmd}" in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    prepare) cmd_prepare "$@" ;;
    join) cmd_join ;;
    reset) cmd_reset ;;
    status) cmd_status ;;
    start-node) [[ $# -eq 1 ]] || usage; require_bin peer orderer; start_node "$1" ;;
    stop-node)
      [[ $# -ge 1 ]] || usage
      node_field "$1" 1 >/dev/null
      if [[ "${2:-}" == "--kill" ]]; then stop_node "$1" KILL; else stop_node "$1" TERM; fi ;;
    add-gateway) cmd_add_gateway "$@" ;;
    *) echo "unknown command '${cmd}'" >&2; usage ;;
  esac
}

# Sourced by scripts/org.sh for its node and CA functions; run otherwise.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
