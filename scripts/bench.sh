#!/usr/bin/env bash
# make bench: runs the benchmarks against a fresh network of their own (in
# network/run-test, torn down afterwards) and prints every figure as one line
# "BENCH <name> <value> <unit>". Benchmarks, not tests: nothing here passes
# or fails on a figure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly BENCH_RUN_DIR="${LG_NET}/run-test"

network_cmd() {
  LEDGERGUARD_RUN_DIR="${BENCH_RUN_DIR}" "${LG_ROOT}/scripts/network.sh" "$@"
}

stop_bench_network() {
  log "stopping the bench network"
  network_cmd down >/dev/null || true
}

# bench_gateway_identity GATEWAY_ID enrols (idempotently) the Org1 identity
# bound to the gateway id and prints its name: the chaincode lets only that
# identity anchor batches and raise alerts for the gateway.
bench_gateway_identity() {
  network_cmd add-gateway Org1 "$1"
}

# bench_gateway_config DIR GATEWAY_ID writes a gateway configuration for the
# ingest benchmark: the bench network, its own store, large batches.
bench_gateway_config() {
  local dir="$1" gw="$2" identity
  identity="$(bench_gateway_identity "${gw}")"
  cat >"${dir}/gateway.yaml" <<YAML
mode: development
gateway_id: ${gw}
log: {level: warn, format: text}
http: {listen: "127.0.0.1:18188"}
syslog: {enabled: false}
store: {dir: "${dir}/store", batch_max_events: 50000, batch_max_wait: 250ms}
ledger: {profile: "${BENCH_RUN_DIR}/connection-org1.json", identity: ${identity}}
backpressure: {max_unanchored_events: 20000000, max_pending_batches: 1000}
credentials:
  - {name: bench, token: bench-token-not-secret, scopes: [ndjson, read]}
YAML
}

bench_ingest() {
  local dir pid
  dir="$(mktemp -d "${BENCH_RUN_DIR}/bench-gw.XXXXXX")"
  bench_gateway_config "${dir}" "bench-$(date +%s)"
  "${LG_BIN}/ledgerguard" gateway --config "${dir}/gateway.yaml" >"${dir}/gateway.log" 2>&1 &
  pid=$!
  if ! wait_http "http://127.0.0.1:18188/readyz" 120 0.25; then
    kill "${pid}" 2>/dev/null || true
    die "the bench gateway did not become ready; see ${dir}/gateway.log"
  fi
  log "bench: ingest through NDJSON (32 clients x 1000 events per request, 20 s), then wait until all is anchored"
  (cd "${LG_ROOT}" && go run ./test/bench -scenario ingest -url http://127.0.0.1:18188 -token bench-token-not-secret -duration 20s) || true
  kill -TERM "${pid}" 2>/dev/null || true
  wait "${pid}" 2>/dev/null || true
  rm -rf "${dir}"
}

# bench_action_setup DIR GATEWAY_ID writes the action benchmark's gateway
# configuration (detection and the responder on, actions to the demo
# receiver) and a policy opening an incident for every alert of that
# gateway, and puts the policy in force as both organisations.
bench_action_setup() {
  local dir="$1" gw="$2" identity
  identity="$(bench_gateway_identity "${gw}")"
  cat >"${dir}/gateway.yaml" <<YAML
mode: development
gateway_id: ${gw}
log: {level: warn, format: text}
http: {listen: "127.0.0.1:18188"}
syslog: {enabled: false}
store: {dir: "${dir}/store", batch_max_events: 5000, batch_max_wait: 100ms}
ledger: {profile: "${BENCH_RUN_DIR}/connection-org1.json", identity: ${identity}}
detection:
  enabled: true
  strict: false
  models_dir: "${LG_ROOT}/models"
  onnxruntime_library: "${LG_BIN}/onnxruntime/libonnxruntime.so.1"
respond:
  enabled: true
  checkpoint_file: "${dir}/respond.checkpoint"
  journal_file: "${dir}/respond.journal"
  workers: 32
  actions:
    open_incident:
      rest:
        url: http://127.0.0.1:18190/incidents
        body: '{"alert": {{json .Request.AlertID}}{{if .Alert}}, "event_time": {{json .Alert.EventTime}}{{end}}}'
credentials:
  - {name: bench, token: bench-token-not-secret, scopes: [hec, read]}
YAML
  cat >"${dir}/policy.yaml" <<YAML
id: ${gw}-incident
version: 1
description: Benchmark policy - an incident for every alert of gateway ${gw}.
condition: alert.gateway == "${gw}"
mode: enforce
actions:
  - type: open_incident
    params:
      title: "bench {{alert.id}}"
responseApprovals: 0
YAML
  local org1="${BENCH_RUN_DIR}/connection-org1.json" org2="${BENCH_RUN_DIR}/connection-org2.json"
  "${LG_BIN}/ledgerguard" policy propose "${dir}/policy.yaml" --profile "${org1}" --identity author >/dev/null
  "${LG_BIN}/ledgerguard" policy approve "${gw}-incident" 1 --profile "${org1}" >/dev/null
  "${LG_BIN}/ledgerguard" policy approve "${gw}-incident" 1 --profile "${org2}" >/dev/null
}

bench_action() {
  local data_dir="${LEDGERGUARD_DATA_DIR:-${LG_ROOT}/../shared/data}"
  if [[ ! -d "${data_dir}/nsl-kdd" ]]; then
    log "bench: action latency not measured: it replays NSL-KDD from ${data_dir} (set LEDGERGUARD_DATA_DIR)"
    return 0
  fi
  local dir gw gw_pid rc_pid
  dir="$(mktemp -d "${BENCH_RUN_DIR}/bench-action.XXXXXX")"
  gw="bench-action-$(date +%s)"
  bench_action_setup "${dir}" "${gw}"
  go build -o "${LG_BIN}/lg-demo-receiver" "${LG_ROOT}/test/demo/receiver"
  "${LG_BIN}/lg-demo-receiver" --listen 127.0.0.1:18190 >"${dir}/receiver.log" 2>&1 &
  rc_pid=$!
  "${LG_BIN}/ledgerguard" gateway --config "${dir}/gateway.yaml" >"${dir}/gateway.log" 2>&1 &
  gw_pid=$!
  if wait_http "http://127.0.0.1:18188/readyz" 120 0.25; then
    log "bench: telemetry -> committed alert -> action executed, NSL-KDD rows over HEC at 20 events/s for 30 s"
    (cd "${LG_ROOT}" && go run ./test/bench -scenario action -url http://127.0.0.1:18188 -token bench-token-not-secret \
      -receiver http://127.0.0.1:18190 -data "${data_dir}" -rate 20 -duration 30s) || true
  else
    log "bench: the action gateway did not become ready; see ${dir}/gateway.log"
  fi
  kill -TERM "${gw_pid}" "${rc_pid}" 2>/dev/null || true
  wait "${gw_pid}" "${rc_pid}" 2>/dev/null || true
}

# bench_detect turns the detection Go benchmarks into BENCH lines.
bench_detect() {
  log "bench: detection per event, batched, through the real feature engine and ONNX Runtime"
  (cd "${LG_ROOT}" && go test -run '^$' -bench 'BenchmarkDetect' -benchtime 2s ./gateway/onnx/) \
    | awk '/^BenchmarkDetect\// { split($1, a, "/"); name=a[2]; sub(/-[0-9]+$/, "", name);
        for (i = 2; i <= NF; i++) if ($(i+1) == "ns/event") printf "BENCH detect_ns_per_event_%s %s ns\n", name, $i }'
}

# bench_console measures console pages at scale (10,000 alerts on a paging
# fake ledger, 1,000,000 events anchored in a real store built in a
# temporary directory, about 30 s) and prints BENCH lines; goal <= 200 ms.
bench_console() {
  log "bench: console pages with 10,000 alerts and 1,000,000 anchored events"
  (cd "${LG_ROOT}" && go test -run XXX -bench Console -benchtime 20x ./gateway/console/) \
    | awk '/^BENCH / { print; next }
        /^BenchmarkConsole\// { split($1, a, "/"); name=a[2]; sub(/-[0-9]+$/, "", name);
          for (i = 2; i <= NF; i++) if ($(i+1) == "ms/page") printf "BENCH console_%s_ms %s ms\n", name, $i }'
}

# bench_orgs measures, in one run, sequential submit latency and commit
# throughput with two organisations, the time for a third to join the
# running network (scripts/org.sh add), the same figures with three (a
# majority of three endorses each transaction), and the time to leave.
bench_orgs() {
  local s e
  log "bench: commit latency and throughput with 2 organisations, Org3 joins, the same with 3, Org3 leaves"
  (cd "${LG_ROOT}" && go run ./test/bench -run-dir "${BENCH_RUN_DIR}" -scenario commit -label orgs2 -n 100 -duration 15s)
  s="$(date +%s.%N)"
  LEDGERGUARD_RUN_DIR="${BENCH_RUN_DIR}" "${LG_ROOT}/scripts/org.sh" add org3 >"${BENCH_RUN_DIR}/bench-add-org3.log" 2>&1 \
    || die "org.sh add org3 failed; see ${BENCH_RUN_DIR}/bench-add-org3.log"
  e="$(date +%s.%N)"
  echo "BENCH add_org_s $(echo "${e} - ${s}" | bc) s"
  (cd "${LG_ROOT}" && go run ./test/bench -run-dir "${BENCH_RUN_DIR}" -scenario commit -label orgs3 -n 100 -duration 15s)
  s="$(date +%s.%N)"
  LEDGERGUARD_RUN_DIR="${BENCH_RUN_DIR}" "${LG_ROOT}/scripts/org.sh" remove org3 >"${BENCH_RUN_DIR}/bench-remove-org3.log" 2>&1 \
    || die "org.sh remove org3 failed; see ${BENCH_RUN_DIR}/bench-remove-org3.log"
  e="$(date +%s.%N)"
  echo "BENCH remove_org_s $(echo "${e} - ${s}" | bc) s"
}

main() {
  if "${LG_ROOT}/scripts/network.sh" status 2>/dev/null | grep -q running; then
    die "the development network (network/run) is running and holds the ports the benchmarks need: run 'make network-down' first"
  fi
  network_cmd reset >/dev/null
  trap stop_bench_network EXIT
  network_cmd up
  LEDGERGUARD_RUN_DIR="${BENCH_RUN_DIR}" "${LG_ROOT}/scripts/chaincode.sh" deploy
  log "bench: submit/evaluate latency (200 sequential submits, BatchTimeout from network/configtx.yaml)"
  (cd "${LG_ROOT}" && go run ./test/bench -run-dir "${BENCH_RUN_DIR}" -scenario submit -n 200)
  log "bench: RaiseAlerts at 1, 100 and 1000 alerts per transaction, then deduplicated with 90 % repeats (15 s each)"
  (cd "${LG_ROOT}" && go run ./test/bench -run-dir "${BENCH_RUN_DIR}" -scenario alerts -duration 15s)
  bench_orgs
  bench_ingest
  bench_action
  bench_detect
  bench_console
}

main "$@"
