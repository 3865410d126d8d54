#!/usr/bin/env bash
# Test hosts on one machine: network namespaces standing in for the
# consortium members' machines, so the network runs with nothing on
# 127.0.0.1 between nodes. `scripts/network.sh up --netns` uses it; it can
# be run by hand too (as root: `ip netns` needs CAP_SYS_ADMIN).
#
# Layout (addresses from the RFC 2544 benchmarking range 198.18.0.0/15,
# assigned only to interfaces inside namespaces this script creates, so no
# packet ever leaves for an address without one of our test hosts behind
# it):
#   lg-sw        the switch: bridge lgbr0, no address
#   lg-client    198.18.0.2   the scripts' clients, gateways, tests
#   lg-orderer   198.18.0.10  orderer1..3 (the orderer organisation)
#   lg-orgN      198.18.0.1N  OrgN's peer (N = 1..9), made when first used
# Each host namespace has its loopback up and a veth pair whose other end
# is a port of lgbr0 in lg-sw.
#
# Usage: scripts/netns.sh layout          print the hosts file of this layout
#        scripts/netns.sh ensure NS ADDR  create host namespace NS with ADDR/24 (idempotent)
#        scripts/netns.sh destroy         delete every namespace of the layout
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly NS_SWITCH="lg-sw"
readonly NS_BRIDGE="lgbr0"

# ns_exists NS succeeds when named namespace NS exists (its bind mount;
# quieter than parsing `ip netns list`, which complains about the peer
# ids of namespaces being deleted).
ns_exists() { [[ -e "/var/run/netns/$1" ]]; }

# ensure_switch creates the switch namespace and its bridge.
ensure_switch() {
  ns_exists "${NS_SWITCH}" && return 0
  ip netns add "${NS_SWITCH}"
  ip -n "${NS_SWITCH}" link add "${NS_BRIDGE}" type bridge
  ip -n "${NS_SWITCH}" link set "${NS_BRIDGE}" up
  ip -n "${NS_SWITCH}" link set lo up
}

# ensure_host NS ADDR creates host namespace NS with address ADDR/24 on a
# veth whose peer is a port of the switch's bridge.
ensure_host() {
  local ns="$1" addr="$2" port
  ensure_switch
  ns_exists "${ns}" && return 0
  port="v-${ns#lg-}"
  ip netns add "${ns}"
  ip link add "${port}" netns "${NS_SWITCH}" type veth peer name eth0 netns "${ns}"
  ip -n "${NS_SWITCH}" link set "${port}" master "${NS_BRIDGE}" up
  ip -n "${ns}" addr add "${addr}/24" dev eth0
  ip -n "${ns}" link set eth0 up
  ip -n "${ns}" link set lo up
  log "test host ${ns}: ${addr}"
}

# print_layout prints the hosts file (NODE ADDRESS NETNS) of the layout.
print_layout() {
  echo "client 198.18.0.2 lg-client"
  local o
  for o in orderer1 orderer2 orderer3; do echo "${o} 198.18.0.10 lg-orderer"; done
  for o in 1 2 3 4 5 6 7 8 9; do echo "peer0.org${o} 198.18.0.1${o} lg-org${o}"; done
}

# destroy deletes the layout's namespaces (their veth pairs go with them).
destroy() {
  local ns
  for ns in lg-client lg-orderer lg-org1 lg-org2 lg-org3 lg-org4 lg-org5 lg-org6 lg-org7 lg-org8 lg-org9 "${NS_SWITCH}"; do
    if ns_exists "${ns}"; then
      # Nodes were stopped by 'down'; whatever else a test left running
      # in a host namespace goes too (never this script itself).
      ip netns pids "${ns}" | grep -vx "$$" | xargs -r kill -KILL 2>/dev/null || true
      ip netns del "${ns}"
    fi
  done
}

netns_main() {
  [[ $# -ge 1 ]] || { sed -n '/^# Usage/,/^set -euo/p' "$0" | sed '$d' >&2; exit 2; }
  local cmd="$1"; shift
  case "${cmd}" in
    layout) print_layout ;;
    ensure) [[ $# -eq 2 ]] || exit 2; ensure_host "$1" "$2" ;;
    destroy) destroy ;;
    *) echo "error: unknown command '${cmd}'" >&2; exit 2 ;;
  esac
}

netns_main "$@"
