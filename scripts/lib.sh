# shellcheck shell=bash
# Shared definitions for ledgerguard's scripts. Sourced, never executed.
# It defines read-only facts of the development network and small helpers
# with explicit arguments; it exports nothing and changes no global state.

readonly LG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly LG_BIN="${LG_ROOT}/bin"
readonly LG_NET="${LG_ROOT}/network"
# LEDGERGUARD_RUN_DIR lets the tests keep their network state apart from the
# development network's (same ports, so only one runs at a time).
readonly LG_RUN="${LEDGERGUARD_RUN_DIR:-${LG_NET}/run}"
readonly LG_CRYPTO="${LG_RUN}/crypto"
readonly LG_CHANNEL="lgchannel"
readonly LG_CC_NAME="ledgerguard"
readonly LG_FABRIC_VERSION="2.5.9"

# Node table: name|kind|org-domain|listen|second|ops
#   orderer: second = channel participation admin port
#   peer:    second = chaincode listen port
# Orderers are fixed; peers follow one row per organisation OrgN (N in
# 1..9, see org_row): listen 27N51, chaincode 27N52, operations 27N53, and
# its Fabric CA 27N54. The organisations the network runs are listed in
# network/run/orgs (Org1 and Org2 at first start; scripts/org.sh adds and
# removes lines).
readonly LG_NODES=(
  "orderer1|orderer|example.com|27050|27051|27052"
  "orderer2|orderer|example.com|27060|27061|27062"
  "orderer3|orderer|example.com|27070|27071|27072"
)
readonly LG_ORGS_FILE="${LG_RUN}/orgs"
readonly LG_FIRST_ORGS=(Org1 Org2)

# Hosts. By default every node listens on 127.0.0.1. A hosts file
# (network/run/hosts, one "NODE ADDRESS [NETNS]" per line) places nodes on
# other addresses: `scripts/network.sh up --netns` writes one that puts the
# orderers and each organisation in a network namespace of its own (see
# scripts/netns.sh), and an operator running each organisation on its own
# machine writes one with the machines' addresses (README, "Multi-host").
readonly LG_HOSTS_FILE="${LG_RUN}/hosts"

# node_host NODE prints the address NODE listens on and is dialled at.
node_host() {
  local node="$1" addr=""
  if [[ -f "${LG_HOSTS_FILE}" ]]; then
    addr="$(awk -v n="${node}" '$1 == n { print $2; exit }' "${LG_HOSTS_FILE}")"
  fi
  echo "${addr:-127.0.0.1}"
}

# node_netns NODE prints the network namespace NODE runs in ("" for none).
node_netns() {
  local node="$1"
  [[ -f "${LG_HOSTS_FILE}" ]] || return 0
  awk -v n="${node}" '$1 == n { print $3; exit }' "${LG_HOSTS_FILE}"
}

# client_netns prints the namespace the scripts' own clients (peer CLI,
# osnadmin, tests) run in when the network runs in namespaces, else "".
client_netns() { node_netns client; }

# enter_client_netns SCRIPT ARGS... re-executes SCRIPT inside the client
# namespace when the network runs in namespaces and this process is not
# there yet: the namespaces' addresses are reachable only from inside.
enter_client_netns() {
  local ns here
  ns="$(client_netns)"
  [[ -n "${ns}" ]] || return 0
  here="$(ip netns identify "$$" 2>/dev/null || true)"
  [[ "${here}" == "${ns}" ]] && return 0
  exec ip netns exec "${ns}" "$@"
}

# org_host ORG prints the address of the org's peer.
org_host() { node_host "$(org_peer "$1")"; }

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# org_number ORG prints N of OrgN (1..9); anything else is an error.
org_number() {
  [[ "$1" =~ ^Org([1-9])$ ]] || die "unknown org '$1' (organisations are named Org1..Org9)"
  echo "${BASH_REMATCH[1]}"
}

# org_row ORG prints the node table row of the org's peer.
org_row() {
  local n
  n="$(org_number "$1")"
  echo "peer0.org${n}|peer|org${n}.example.com|27${n}51|27${n}52|27${n}53"
}

# ca_port ORG prints the port of the org's Fabric CA.
ca_port() { echo "27$(org_number "$1")54"; }

# active_orgs prints the organisations the network runs, one a line.
active_orgs() {
  if [[ -f "${LG_ORGS_FILE}" ]]; then
    cat "${LG_ORGS_FILE}"
  else
    printf '%s\n' "${LG_FIRST_ORGS[@]}"
  fi
}

# node_field NODE FIELD_INDEX prints one column of the node table.
node_field() {
  local node="$1" idx="$2" row
  for row in "${LG_NODES[@]}"; do
    if [[ "${row%%|*}" == "${node}" ]]; then
      cut -d'|' -f"${idx}" <<<"${row}"
      return 0
    fi
  done
  if [[ "${node}" =~ ^peer0\.org[1-9]$ ]]; then
    org_row "$(org_of_peer "${node}")" | cut -d'|' -f"${idx}"
    return 0
  fi
  die "unknown node '${node}' (known: $(node_names | tr '\n' ' '))"
}

# node_names prints the orderers and the peers of the active orgs.
node_names() {
  local row org
  for row in "${LG_NODES[@]}"; do echo "${row%%|*}"; done
  for org in $(active_orgs); do org_peer "${org}"; done
}

# org_of_peer PEER prints OrgN for peer0.orgN.
org_of_peer() {
  [[ "$1" =~ ^peer0\.org([1-9])$ ]] || die "not a peer: $1"
  echo "Org${BASH_REMATCH[1]}"
}

org_domain() { echo "$(tr '[:upper:]' '[:lower:]' <<<"$1").example.com"; }
org_msp() { echo "$1MSP"; }
org_peer() { echo "peer0.$(tr '[:upper:]' '[:lower:]' <<<"$1")"; }

# peer_port ORG prints the org's peer listen port.
peer_port() { node_field "$(org_peer "$1")" 4; }

orderer_tls_ca() { echo "${LG_CRYPTO}/ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem"; }
peer_tls_ca() { local d; d="$(org_domain "$1")"; echo "${LG_CRYPTO}/peerOrganizations/${d}/tlsca/tlsca.${d}-cert.pem"; }
admin_msp() { local d; d="$(org_domain "$1")"; echo "${LG_CRYPTO}/peerOrganizations/${d}/users/Admin@${d}/msp"; }

# require_bin NAME... fails with a clear message when a binary is missing.
require_bin() {
  local b
  for b in "$@"; do
    [[ -x "${LG_BIN}/${b}" ]] || die "missing binary bin/${b}: run 'make setup' first"
  done
}

require_cmd() {
  local c
  for c in "$@"; do
    command -v "${c}" >/dev/null 2>&1 || die "missing command '${c}': run 'make setup' first"
  done
}

# port_busy PORT succeeds when something listens on 127.0.0.1:PORT.
port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive PIDFILE succeeds when the PID file names a live process.
pid_alive() {
  local pidfile="$1" pid
  [[ -f "${pidfile}" ]] || return 1
  pid="$(cat "${pidfile}")"
  [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null
}

# wait_http URL TRIES SLEEP waits until URL answers 200, bounded.
wait_http() {
  local url="$1" tries="$2" pause="$3" i
  for ((i = 0; i < tries; i++)); do
    if curl -fsS -o /dev/null --max-time 2 "${url}" 2>/dev/null; then
      return 0
    fi
    sleep "${pause}"
  done
  return 1
}

# peer_cli ORG ARGS... runs the peer CLI as the org's admin against its peer.
peer_cli() {
  local org="$1"; shift
  local peer port
  peer="$(org_peer "${org}")"
  port="$(peer_port "${org}")"
  env FABRIC_CFG_PATH="${LG_RUN}/${peer}/config" \
    FABRIC_LOGGING_SPEC=warning \
    CORE_PEER_TLS_ENABLED=true \
    CORE_PEER_LOCALMSPID="$(org_msp "${org}")" \
    CORE_PEER_MSPCONFIGPATH="$(admin_msp "${org}")" \
    CORE_PEER_TLS_ROOTCERT_FILE="$(peer_tls_ca "${org}")" \
    CORE_PEER_ADDRESS="$(org_host "${org}"):${port}" \
    "${LG_BIN}/peer" "$@"
}

# stop_service NAME PIDFILE stops a process `make run` started (the gateway,
# the demo receiver): exactly the PID in its file, SIGTERM then SIGKILL.
stop_service() {
  local name="$1" pidfile="$2" pid i
  pid_alive "${pidfile}" || { rm -f "${pidfile}"; return 0; }
  pid="$(cat "${pidfile}")"
  kill -TERM "${pid}" 2>/dev/null || true
  for ((i = 0; i < 120; i++)); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.25
  done
  kill -KILL "${pid}" 2>/dev/null || true
  rm -f "${pidfile}"
  log "${name} stopped"
}

# orderer_args prints the peer CLI flags that reach the ordering service.
orderer_args() {
  echo "-o $(node_host orderer1):$(node_field orderer1 4) --tls --cafile $(orderer_tls_ca)"
}

# peers_args ORG... prints the peer CLI flags that address the orgs' peers
# (for endorsements and lifecycle commits).
peers_args() {
  local org
  for org in "$@"; do
    printf -- '--peerAddresses %s:%s --tlsRootCertFiles %s ' "$(org_host "${org}")" "$(peer_port "${org}")" "$(peer_tls_ca "${org}")"
  done
}

# chaincode_definition_args OUT_DIR MSP... prints the flags every approval
# and commit of the chaincode definition carries besides name, version,
# sequence and package, for a channel whose members are MSP...:
#   - no --signature-policy: the definition uses the channel's default
#     /Channel/Application/Endorsement, "MAJORITY Endorsement", which
#     counts the channel's organisations at validation time, so a join or
#     leave needs no new definition (2 of 2, then 2 of 3, ...);
#   - the private data collections config listing the members, when
#     scripts/collections.sh provides collections_config OUTFILE MSPID...
#     (COLLECTIONS: this is the single place the collections file joins the
#     definition; scripts/chaincode.sh and scripts/org.sh both call it).
# Every organisation must approve with identical flags, so they come from
# here only.
chaincode_definition_args() {
  local out_dir="$1"; shift
  local lib="${LG_ROOT}/scripts/collections.sh"
  [[ -f "${lib}" ]] || return 0
  mkdir -p "${out_dir}"
  (
    # shellcheck source=/dev/null
    source "${lib}"
    declare -F collections_config >/dev/null || exit 0
    collections_config "${out_dir}/collections.json" "$@" >&2
    echo "--collections-config ${out_dir}/collections.json"
  )
}
