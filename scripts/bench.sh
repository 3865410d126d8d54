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

# bench_gateway_identity GATEWAY_ID... enrols (idempotently) the Org1
# identity bound to each gateway id and prints its name: the chaincode lets
# only that identity anchor batches and raise alerts for the gateway.
bench_gateway_identity() {
  network_cmd add-gateway Org1 "$@"
}

# bench_gateway_config DIR GATEWAY_ID writes a gateway configuration for the
# ingest benchmark: the bench network, its own store, large batches, and
# detection on (every anchored event scored by the models in models/);
# with BENCH_ACK_AFTER_SEGMENT set, store.ack_after_segment on.
bench_gateway_config() {
  local dir="$1" gw="$2" profile="${3:-}" identity
  identity="$(bench_gateway_identity "${gw}")"
  cat >"${dir}/gateway.yaml" <<YAML
mode: development
gateway_id: ${gw}
# What an operator with a 1 GiB memory budget sets: the Go runtime's soft
# limit, leaving about 250 MiB to ONNX Runtime and Pebble's memtables.
memory_limit: 768MiB
log: {level: warn, format: text}
http: {listen: "127.0.0.1:18188"}
syslog: {enabled: false}
store: {dir: "${dir}/store", batch_max_events: 50000, batch_max_wait: 250ms${BENCH_ACK_AFTER_SEGMENT:+, ack_after_segment: true}}
ledger: {profile: "${BENCH_RUN_DIR}/connection-org1.json", identity: ${identity}}
backpressure: {max_unanchored_events: 20000000, max_pending_batches: 1000}
detection:
  enabled: true
  strict: false
  models_dir: "${BENCH_MODELS_DIR:-${LG_ROOT}/models}"
  onnxruntime_library: "${LG_BIN}/onnxruntime/libonnxruntime.so.1"
credentials:
  - {name: bench, token: bench-token-not-secret, scopes: [ndjson, hec, read]}
YAML
  if [[ -n "${profile}" ]]; then
    echo 'debug: {pprof_listen: "127.0.0.1:18189"}' >>"${dir}/gateway.yaml"
  fi
}

# bench_profile OUT_DIR PID [PPROF_PORT] takes, while the ingest load runs, consecutive
# 30 s CPU profiles (cpu-0.pprof from the start, cpu-30.pprof, ...) and a
# heap profile every 10 s of the bench gateway (its debug.pprof_listen),
# and samples its RSS (KiB) and CPU time (ticks) once a second into
# OUT_DIR/rss.txt, until PID exits.
bench_profile() {
  local out="$1" pid="$2" port="${3:-18189}" t=0
  mkdir -p "${out}"
  while kill -0 "${pid}" 2>/dev/null; do
    echo "${t} $(awk '/^VmRSS:/ { print $2 }' "/proc/${pid}/status" 2>/dev/null) $(awk '{ print $14 + $15 }' "/proc/${pid}/stat" 2>/dev/null)" >>"${out}/rss.txt"
    if ((t % 30 == 0)); then
      curl -fsS --max-time 35 -o "${out}/cpu-${t}.pprof" "http://127.0.0.1:${port}/debug/pprof/profile?seconds=29" 2>/dev/null &
    fi
    if ((t % 10 == 5)); then
      curl -fsS -o "${out}/heap-${t}s.pprof" "http://127.0.0.1:${port}/debug/pprof/heap" || true
    fi
    sleep 1
    t=$((t + 1))
  done
  wait # the last CPU profile's curl ends with the gateway or its time limit
}

# peak_rss_mib PID prints the peak resident set (VmHWM) of a running
# process in MiB.
peak_rss_mib() {
  awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# bench_ingest GATEWAY_BIN LOADGEN_BIN [PROFILE_DIR] runs the ingest
# figures against one gateway with detection on: NDJSON at saturation
# (then acknowledgement latency at half the rate it reached, and the raw
# limit on the same disk), HEC at saturation, and the gateway's peak RSS
# over all of it. The load generator is a separate, pre-built process.
# Run in a private network namespace (see README, "Figures"), each
# saturation phase also prints the CPU per event of the Fabric network
# (ingest_network_cpu_us_per_event, and _peer, _chaincode, _orderer) and
# of the gateway (ingest_gateway_cpu_us_per_event), from /proc, and the
# anchor transactions it took (ingest_anchor_txs, ingest_events_per_anchor_tx).
# With PROFILE_DIR the gateway serves pprof (debug.pprof_listen) and
# bench_profile writes its profiles and RSS samples there.
bench_ingest() {
  local gw_bin="$1" loadgen="$2" profile="${3:-}" dir pid data_dir rss
  data_dir="${LEDGERGUARD_DATA_DIR:-${LG_ROOT}/../shared/data}"
  dir="$(mktemp -d "${BENCH_RUN_DIR}/bench-gw.XXXXXX")"
  bench_gateway_config "${dir}" "bench-$(date +%s%N)" "${profile}"
  "${gw_bin}" gateway --config "${dir}/gateway.yaml" >"${dir}/gateway.log" 2>&1 &
  pid=$!
  if ! wait_http "http://127.0.0.1:18188/readyz" 120 0.25; then
    kill "${pid}" 2>/dev/null || true
    die "the bench gateway did not become ready; see ${dir}/gateway.log"
  fi
  local prof_pid=""
  if [[ -n "${profile}" ]]; then
    bench_profile "${profile}" "${pid}" &
    prof_pid=$!
  fi
  log "bench: ingest through NDJSON with detection on (32 clients x 1000 events per request, 20 s), wait until all is anchored and scored, ack latency at half the end-to-end rate and at half the acknowledged rate (15 s each), raw limit"
  (cd "${LG_ROOT}" && "${loadgen}" -scenario ingest -protocol ndjson -url http://127.0.0.1:18188 -token bench-token-not-secret \
    -duration 20s -latency-for 15s -limit-dir "${dir}" -data "${data_dir}") || true
  log "bench: ingest through HEC with detection on (32 clients x 1000 events per request, 20 s)"
  (cd "${LG_ROOT}" && "${loadgen}" -scenario ingest -protocol hec -url http://127.0.0.1:18188 -token bench-token-not-secret \
    -duration 20s -data "${data_dir}") || true
  if [[ -r "/proc/${pid}/status" ]]; then
    rss="$(peak_rss_mib "${pid}")"
    echo "BENCH gateway_peak_rss_mib ${rss} MiB"
    # The gateway's CPU time per accepted event over the whole scenario
    # (parse, store, detection, anchoring, alerts, garbage collection;
    # both protocols and the latency phases, unlike
    # ingest_gateway_cpu_us_per_event, which covers the NDJSON saturation
    # phase and its drain): unlike the rates, other load on a shared
    # machine barely moves it. ingest_gateway_cpu_baseline_ratio is
    # computed from this one.
    awk -v t="$(proc_cpu_ticks "${pid}")" -v n="$(accepted_events http://127.0.0.1:18188)" \
      'BEGIN { if (n > 0) printf "BENCH gateway_cpu_us_per_event %.2f us\n", t * 10000 / n }'
  else
    log "bench: the gateway exited before its peak RSS could be read; see ${dir}/gateway.log"
  fi
  kill -TERM "${pid}" 2>/dev/null || true
  wait "${pid}" 2>/dev/null || true
  if [[ -n "${prof_pid}" ]]; then wait "${prof_pid}" 2>/dev/null || true; fi
  rm -rf "${dir}"
}

# bench_ack_once GATEWAY_BIN LOADGEN_BIN MODELS_DIR [PROFILE_DIR] runs, against a fresh
# gateway of that build, the NDJSON part of bench_ingest that the
# acknowledgement latency needs: saturation (for the end-to-end rate),
# then the paced phases at half of it, with the gateway-side attribution
# of the latency (ack_latency_server_*, when the build exports it). With
# PROFILE_DIR, a runtime trace and a CPU profile of each paced phase go
# there.
bench_ack_once() {
  local gw_bin="$1" loadgen="$2" models="$3" profile="${4:-}" dir pid data_dir
  data_dir="${LEDGERGUARD_DATA_DIR:-${LG_ROOT}/../shared/data}"
  dir="$(mktemp -d "${BENCH_RUN_DIR}/bench-gw.XXXXXX")"
  local prof=()
  if [[ -n "${profile}" ]]; then
    mkdir -p "${profile}"
    prof=(-pprof-url http://127.0.0.1:18189 -profile-dir "${profile}")
  fi
  BENCH_MODELS_DIR="${models}" bench_gateway_config "${dir}" "bench-$(date +%s%N)" "${profile}"
  "${gw_bin}" gateway --config "${dir}/gateway.yaml" >"${dir}/gateway.log" 2>&1 &
  pid=$!
  if wait_http "http://127.0.0.1:18188/readyz" 120 0.25; then
    (cd "${LG_ROOT}" && "${loadgen}" -scenario ingest -protocol ndjson -url http://127.0.0.1:18188 -token bench-token-not-secret \
      -duration 20s -latency-for 15s -data "${data_dir}" "${prof[@]}") || true
    awk -v t="$(proc_cpu_ticks "${pid}")" -v n="$(accepted_events http://127.0.0.1:18188)" \
      'BEGIN { if (n > 0) printf "BENCH gateway_cpu_us_per_event %.2f us\n", t * 10000 / n }'
  else
    log "bench: the ack gateway did not become ready; see ${dir}/gateway.log"
  fi
  kill -TERM "${pid}" 2>/dev/null || true
  wait "${pid}" 2>/dev/null || true
  rm -rf "${dir}"
}

# bench_ack LOADGEN_BIN ROUNDS measures the acknowledgement latency at half
# the end-to-end rate ROUNDS times, alternating the baseline build
# (LEDGERGUARD_BENCH_BASELINE, figures prefixed baseline_), this one
# (no prefix) and this one with store.ack_after_segment on (prefixed
# segack_), each figure suffixed _runN, each round starting with the next
# variant: the tail is noisy on a shared machine, so an A/B needs several
# interleaved runs rather than one of each.
# LEDGERGUARD_BENCH_ACK_VARIANTS="name=binary ..." compares those builds
# instead (figures prefixed name_; a name ending in segack runs with
# store.ack_after_segment on).
bench_ack() {
  local loadgen="$1" rounds="$2" r i v variants=() this="${LEDGERGUARD_BENCH_GATEWAY:-${LG_BIN}/ledgerguard}"
  if [[ -n "${LEDGERGUARD_BENCH_ACK_VARIANTS:-}" ]]; then
    read -r -a variants <<<"${LEDGERGUARD_BENCH_ACK_VARIANTS}"
  else
    if [[ -n "${LEDGERGUARD_BENCH_BASELINE:-}" ]]; then variants+=("baseline=${LEDGERGUARD_BENCH_BASELINE}"); fi
    variants+=("=${this}" "segack=${this}")
  fi
  for ((r = 1; r <= rounds; r++)); do
    for ((i = 0; i < ${#variants[@]}; i++)); do
      v="${variants[$(((i + r - 1) % ${#variants[@]}))]}"
      local name="${v%%=*}" bin="${v#*=}" models="${LG_ROOT}/models" segack=""
      if [[ "${name}" == baseline ]]; then models="${LEDGERGUARD_BENCH_BASELINE_MODELS:-${models}}"; fi
      if [[ "${name}" == *segack ]]; then segack=1; fi
      log "bench: ack latency, round ${r}, ${name:-this build} (${bin})"
      BENCH_ACK_AFTER_SEGMENT="${segack}" bench_ack_once "${bin}" "${loadgen}" "${models}" \
        "${LEDGERGUARD_BENCH_ACK_PROFILE_DIR:+${LEDGERGUARD_BENCH_ACK_PROFILE_DIR}/${name:-this}-run${r}}" |
        sed -u "s/^BENCH \([^ ]*\)/BENCH ${name:+${name}_}\1_run${r}/"
    done
  done
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
  models_dir: "${BENCH_MODELS_DIR:-${LG_ROOT}/models}"
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

# bench_action GATEWAY_BIN measures telemetry -> committed alert -> action
# executed with that gateway binary beside a background load, and prints
# the machine's load average as it ends (action_host_loadavg_1m).
bench_action() {
  local gw_bin="$1" data_dir="${LEDGERGUARD_DATA_DIR:-${LG_ROOT}/../shared/data}"
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
  "${gw_bin}" gateway --config "${dir}/gateway.yaml" >"${dir}/gateway.log" 2>&1 &
  gw_pid=$!
  if wait_http "http://127.0.0.1:18188/readyz" 120 0.25; then
    log "bench: telemetry -> committed alert -> action executed: NSL-KDD attack rows over HEC at 100 events/s beside 10,000 normal events/s (about 1 % attacks) for 30 s"
    (cd "${LG_ROOT}" && go run ./test/bench -scenario action -url http://127.0.0.1:18188 -token bench-token-not-secret \
      -receiver http://127.0.0.1:18190 -data "${data_dir}" -rate 100 -background 10000 -duration 30s \
      -run-dir "${BENCH_RUN_DIR}" -gateway-id "${gw}") || true
    # The machine's 1-minute load average as the phase ends: the latency
    # is a chain of ledger round trips, each stretched by CPU contention
    # (load 10-20 on 2 cores doubled p50 in session 13), so a reader must
    # see how busy the machine was to compare two phases.
    awk '{ printf "BENCH action_host_loadavg_1m %s load\n", $1 }' /proc/loadavg
  else
    log "bench: the action gateway did not become ready; see ${dir}/gateway.log"
  fi
  kill -TERM "${gw_pid}" "${rc_pid}" 2>/dev/null || true
  wait "${gw_pid}" "${rc_pid}" 2>/dev/null || true
}

# bench_action_rounds ROUNDS compares the baseline build
# (LEDGERGUARD_BENCH_BASELINE, figures prefixed baseline_) with this one
# over ROUNDS rounds on the same network, each round starting with the
# other build (round 1 the baseline, round 2 this build, ...): whichever
# gateway runs second in a round measured slower in earlier sessions,
# whatever its build, so a single pair compares positions, not builds.
# Each round's figures are printed suffixed _runN (with
# action_first_runN: 1 when that gateway ran first), then the median of
# every figure over the rounds under the name a single run prints.
bench_action_rounds() {
  local rounds="$1" r i out this="${LEDGERGUARD_BENCH_GATEWAY:-${LG_BIN}/ledgerguard}"
  out="$(mktemp)"
  for ((r = 1; r <= rounds; r++)); do
    for i in 0 1; do
      if (((i + r) % 2 == 1)); then
        log "bench: action, round ${r}, the baseline ${LEDGERGUARD_BENCH_BASELINE}"
        echo "BENCH baseline_action_first_run${r} $((1 - i)) flag"
        BENCH_MODELS_DIR="${LEDGERGUARD_BENCH_BASELINE_MODELS:-}" bench_action "${LEDGERGUARD_BENCH_BASELINE}" |
          sed -u "s/^BENCH \([^ ]*\)/BENCH baseline_\1_run${r}/"
      else
        log "bench: action, round ${r}, this build ${this}"
        echo "BENCH action_first_run${r} $((1 - i)) flag"
        bench_action "${this}" | sed -u "s/^BENCH \([^ ]*\)/BENCH \1_run${r}/"
      fi
    done | tee -a "${out}"
  done
  bench_median_lines "${out}"
  rm -f "${out}"
}

# bench_median_lines FILE prints, for every figure NAME_runN in FILE, the
# median over its runs as BENCH NAME (the mean of the middle two for an
# even count), in the order the names first appear.
bench_median_lines() {
  awk '$1 == "BENCH" && $2 ~ /_run[0-9]+$/ && $2 !~ /_first_run/ {
         name = $2; sub(/_run[0-9]+$/, "", name)
         if (!(name in n)) { order[++names] = name; unit[name] = $4 }
         v[name, ++n[name]] = $3 }
       END { for (k = 1; k <= names; k++) {
               name = order[k]; m = n[name]
               for (i = 1; i <= m; i++) a[i] = v[name, i]
               for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
               med = (m % 2 == 1) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
               printf "BENCH %s %.3f %s\n", name, med, unit[name] } }' "$1"
}

# bench_anchor_capacity N enrols N gateway identities of Org1 and has them
# anchor synthetic 50,000-event batches at once for 20 s: the channel's
# anchoring capacity when N gateways share it.
bench_anchor_capacity() {
  local n="$1" ids=() i stamp
  stamp="$(date +%s)"
  for ((i = 1; i <= n; i++)); do ids+=("cap${stamp}-${i}"); done
  bench_gateway_identity "${ids[@]}" >/dev/null
  log "bench: anchoring capacity, ${n} gateways anchoring 50,000-event batches at once for 20 s"
  (cd "${LG_ROOT}" && go run ./test/bench -run-dir "${BENCH_RUN_DIR}" -scenario anchorcap \
    -gateways "$(IFS=,; echo "${ids[*]}")" -events-per-batch 50000 -duration 20s)
}

# bench_immudb writes the ingest bench's events into an embedded immudb
# (synced, 1,000 per transaction, one writer per core) for 20 s: the
# reference ingest_events_per_s is compared with in the same run.
bench_immudb() {
  log "bench: the same events into an embedded immudb (synced commits, batches of 1,000) for 20 s"
  (cd "${LG_ROOT}" && go run ./test/bench -scenario immudb -duration 20s -data "${LEDGERGUARD_DATA_DIR:-${LG_ROOT}/../shared/data}")
}

# bench_detect turns the detection Go benchmarks into BENCH lines: per
# model, wall time per event of DetectLeaves on a batch of 8,192 leaves
# handed over by one caller as the alerter does (feature extraction from
# the canonical bytes included, both cores available), and the CPU time
# per event, which other load on the machine does not distort; then, from
# BenchmarkDetectStages (each stage alone on one goroutine), the CPU time
# of feature extraction and the model graph's floor (one ONNX Runtime Run
# over 8,192 synthetic rows; for a cascade, its two graphs on the batch's
# own rows), which say whether a model over budget needs a smaller graph
# or cheaper features, and for a cascade the share of events its screen
# answered alone. Last, BenchmarkDetectShared: the registry's
# DetectLeaves over each group of models that share one extraction
# (nsl-kdd-flow with its anomaly model, both cic-ids2017-flow models),
# what the gateway spends per event on the group, whole and per model.
bench_detect() {
  log "bench: detection per event, batched, through the real feature engine and ONNX Runtime"
  (cd "${LG_ROOT}" && go test -run '^$' -bench '^BenchmarkDetect$' -benchtime 2s ./gateway/onnx/ \
    && go test -run '^$' -bench '^BenchmarkDetectStages$/./^(extract-canonical|run-8192)$' -benchtime 1s ./gateway/onnx/ \
    && go test -run '^$' -bench '^BenchmarkDetectShared$' -benchtime 2s ./gateway/onnx/) \
    | awk '/^BenchmarkDetect\// { split($1, a, "/"); name=a[2]; sub(/-[0-9]+$/, "", name);
        for (i = 2; i <= NF; i++) {
          if ($(i+1) == "ns/event") printf "BENCH detect_ns_per_event_%s %s ns\n", name, $i
          if ($(i+1) == "cpu-ns/event") printf "BENCH detect_cpu_ns_per_event_%s %s ns\n", name, $i
          if ($(i+1) == "screened/row") printf "BENCH detect_screened_share_%s %s ratio\n", name, $i
        } }
      /^BenchmarkDetectStages\// { split($1, a, "/"); name=a[2]; stage=a[3]; sub(/-[0-9]+$/, "", stage);
        what = "";
        if (stage == "extract-canonical") what = "detect_extract_cpu_ns_per_event_";
        if (stage == "run-8192") what = "detect_graph_floor_cpu_ns_per_event_";
        for (i = 2; i <= NF; i++) if (what != "" && $(i+1) == "cpu-ns/event") printf "BENCH %s%s %s ns\n", what, name, $i }
      /^BenchmarkDetectShared\// { split($1, a, "/"); name=a[2]; sub(/-[0-9]+$/, "", name);
        for (i = 2; i <= NF; i++) {
          if ($(i+1) == "ns/event") printf "BENCH detect_shared_ns_per_event_%s %s ns\n", name, $i
          if ($(i+1) == "cpu-ns/event") printf "BENCH detect_shared_cpu_ns_per_event_%s %s ns\n", name, $i
          if ($(i+1) == "ns/model-event") printf "BENCH detect_shared_ns_per_model_event_%s %s ns\n", name, $i
          if ($(i+1) == "cpu-ns/model-event") printf "BENCH detect_shared_cpu_ns_per_model_event_%s %s ns\n", name, $i
        } }'
}

# bench_alerter_read turns gateway/alerting's BenchmarkAlerterReadLeaves
# into BENCH lines: the alerter's CPU time, bytes and allocations per
# event reading and scoring an anchored log (a flagger of one event in
# 100 and the intel detector, both reading the leaves), the log read as
# whole decoded events (the path before partial leaves) and as partial
# leaves, alternated in one run, and the CPU ratio partial / whole.
bench_alerter_read() {
  log "bench: the alerter's read and score per event, whole and partial leaves alternated (3 rounds)"
  local round
  for round in 1 2 3; do
    (cd "${LG_ROOT}" && go test -run '^$' -bench '^BenchmarkAlerterReadLeaves$' -benchtime 5x ./gateway/alerting/)
  done | awk '/^BenchmarkAlerterReadLeaves\// { split($1, a, "/"); name=a[2]; sub(/-[0-9]+$/, "", name)
      for (i = 2; i <= NF; i++) {
        if ($(i+1) == "cpu-ns/event") { cpu[name] += $i; n[name]++ }
        if ($(i+1) == "B/event") bytes[name] += $i
        if ($(i+1) == "allocs/event") allocs[name] += $i } }
    END { for (m in n) {
            printf "BENCH alerter_read_cpu_ns_per_event_%s %.0f ns\n", m, cpu[m] / n[m]
            printf "BENCH alerter_read_bytes_per_event_%s %.0f B\n", m, bytes[m] / n[m]
            printf "BENCH alerter_read_allocs_per_event_%s %.2f allocs\n", m, allocs[m] / n[m] }
          if (n["whole"] > 0 && n["header"] > 0)
            printf "BENCH alerter_read_cpu_header_vs_whole_ratio %.3f ratio\n", (cpu["header"] / n["header"]) / (cpu["whole"] / n["whole"]) }'
}

# bench_baseline turns gateway/features' BenchmarkBaseline into BENCH lines:
# CPU ns per event of one sliding window with and without a per-entity
# baseline (WindowSpec.Baseline), in the worst case (every event closes its
# key's bucket and folds a gap) and the steady one (buckets mostly open),
# and the cost of the baseline as a ratio to the window alone in the same run.
bench_baseline() {
  log "bench: per-entity baseline cost per event in the feature engine"
  (cd "${LG_ROOT}" && go test -run '^$' -bench 'BenchmarkBaseline' -benchtime 1000000x ./gateway/features/) \
    | awk '/^BenchmarkBaseline\// { split($1, a, "/"); regime = a[2]; kind = a[3]; sub(/-[0-9]+$/, "", kind);
        for (i = 2; i <= NF; i++) if ($(i+1) == "cpu-ns/event") v[regime, kind] = $i
        if (kind == "window") { printf "BENCH features_window_cpu_ns_%s %s ns\n", regime, v[regime, kind] }
        else { printf "BENCH features_window_baseline_cpu_ns_%s %s ns\n", regime, v[regime, kind]
               if (v[regime, "window"] > 0) printf "BENCH features_baseline_cost_ratio_%s %.3f ratio\n", regime, v[regime, kind] / v[regime, "window"] } }'
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

# bench_orgs LOADGEN measures, in one run, sequential submit latency and commit
# throughput with two organisations, the time for a third to join the
# running network (scripts/org.sh add), the same figures with three (a
# majority of three endorses each transaction), and the time to leave.
bench_orgs() {
  local loadgen="$1" s e
  log "bench: commit latency and throughput with 2 organisations, Org3 joins, the same with 3, Org3 leaves"
  (cd "${LG_ROOT}" && "${loadgen}" -run-dir "${BENCH_RUN_DIR}" -scenario commit -label orgs2 -n 100 -duration 15s)
  s="$(date +%s.%N)"
  LEDGERGUARD_RUN_DIR="${BENCH_RUN_DIR}" "${LG_ROOT}/scripts/org.sh" add org3 >"${BENCH_RUN_DIR}/bench-add-org3.log" 2>&1 \
    || die "org.sh add org3 failed; see ${BENCH_RUN_DIR}/bench-add-org3.log"
  e="$(date +%s.%N)"
  echo "BENCH add_org_s $(echo "${e} - ${s}" | bc) s"
  (cd "${LG_ROOT}" && "${loadgen}" -run-dir "${BENCH_RUN_DIR}" -scenario commit -label orgs3 -n 100 -duration 15s)
  s="$(date +%s.%N)"
  LEDGERGUARD_RUN_DIR="${BENCH_RUN_DIR}" "${LG_ROOT}/scripts/org.sh" remove org3 >"${BENCH_RUN_DIR}/bench-remove-org3.log" 2>&1 \
    || die "org.sh remove org3 failed; see ${BENCH_RUN_DIR}/bench-remove-org3.log"
  e="$(date +%s.%N)"
  echo "BENCH remove_org_s $(echo "${e} - ${s}" | bc) s"
}

# ratio_lines FILE prints the figures that compare two lines of one run:
# ingest against the embedded immudb reference, and the gateway's CPU per
# event against the baseline gateway's (bench_intel prints its own on/off
# ratio).
ratio_lines() {
  awk '$1 == "BENCH" && $2 == "ingest_events_per_s" { ingest = $3 }
       $1 == "BENCH" && $2 == "immudb_events_per_s" { immudb = $3 }
       $1 == "BENCH" && $2 == "gateway_cpu_us_per_event" { cpu = $3 }
       $1 == "BENCH" && $2 == "baseline_gateway_cpu_us_per_event" { base_cpu = $3 }
       END { if (ingest > 0 && immudb > 0) printf "BENCH ingest_vs_immudb_ratio %.3f ratio\n", ingest / immudb
             # > 1: this build spends less CPU per event than the baseline.
             if (cpu > 0 && base_cpu > 0) printf "BENCH ingest_gateway_cpu_baseline_ratio %.3f ratio\n", base_cpu / cpu }' "$1"
}

# bench_taxii pages through a 100,000-indicator TAXII collection in pages of
# 100 over loopback HTTP (gateway/taxii on the intel catalog, STIX from
# gateway/stix; no network needed); goal taxii_page_p99_ms <= 50.
bench_taxii() {
  log "bench: TAXII pages of 100 over a 100,000-object collection, walked to the end"
  (cd "${LG_ROOT}" && go run ./test/bench -scenario taxii -n 100000)
}

# bench_store_ack turns gateway/store's BenchmarkAckLatency into BENCH
# lines: the store's acknowledgement latency (open-loop 100-event appends
# at 5,000 events/s on this disk, about 30 s) for the current path
# (segment fsync, then Pebble's, into preallocated segments), the opt-in
# segment-only acknowledgement (store.WithAckAfterSegment) and the path
# before (no preallocation), interleaved in one run, and the ratio of the
# current p99 to the old one.
bench_store_ack() {
  log "bench: store acknowledgement latency, current and old path interleaved (about 30 s)"
  (cd "${LG_ROOT}" && go test -run '^$' -bench '^BenchmarkAckLatency$' -benchtime 1x ./gateway/store/) \
    | awk '/^BenchmarkAckLatency/ { for (i = 2; i <= NF; i++) {
          u = $(i+1)
          if (u ~ /^p(50|99)-ms-/) { split(u, a, "-"); printf "BENCH store_ack_%s_%s_ms %s ms\n", a[3], a[1], $i }
          if (u == "p99-ratio-new/old") printf "BENCH store_ack_p99_new_vs_old_ratio %s ratio\n", $i } }'
}

# bench_intel_match turns the matcher's Go benchmarks into BENCH lines.
# intel_match_lookups_per_s: observables looked up per second of CPU time
# on one core (GOMAXPROCS=1, one goroutine) against 1,000,000 indicators of
# mixed types, half of the observables hits, in batches through
# View.LookupAll with a detector-like hit callback; goal >= 10M.
# _single: the same one at a time through View.Lookup; _misses: only
# observables that match nothing (most real traffic). The wall-clock rate
# (lower when other work shares the core) is printed beside each.
# intel_detect_ns_per_event: CPU ns per stored event for the intel
# detector (observables extracted + looked up + results), the in-process
# companion of intel_ingest_ratio; intel_observables_ns_per_event: the
# extraction alone.
bench_intel_match() {
  log "bench: intel matcher lookups and detector on one core against 1,000,000 indicators"
  (cd "${LG_ROOT}" && GOMAXPROCS=1 go test -run '^$' -bench 'BenchmarkMatcherLookup|BenchmarkDetector' -benchtime 3s ./gateway/intel/) \
    | awk '/^BenchmarkMatcherLookup\// { split($1, a, "/"); name = (a[2] ~ /^misses/) ? "_misses" : (a[2] ~ /^single/) ? "_single" : "";
        for (i = 2; i <= NF; i++) {
          if ($(i+1) == "lookups/cpu-s") printf "BENCH intel_match%s_lookups_per_s %s lookups/s\n", name, $i
          if ($(i+1) == "lookups/s") printf "BENCH intel_match%s_lookups_per_wall_s %s lookups/s\n", name, $i } }
      /^BenchmarkDetector\// { split($1, a, "/"); name = (a[2] ~ /^observables/) ? "observables" : "detect";
        for (i = 2; i <= NF; i++) if ($(i+1) == "cpu-ns/event") printf "BENCH intel_%s_ns_per_event %s ns\n", name, $i }'
}

# bench_intel_gateway DIR GATEWAY_ID PORT INTEL_KEY_FILE [PPROF_PORT] writes DIR/gateway.yaml
# for an Org2 gateway configured as the ingest benchmark's (detection on,
# same store, batch and memory settings) on PORT, with the intel matcher on
# when INTEL_KEY_FILE is not empty and off otherwise; nothing else differs,
# so the two ingest runs compare the matcher alone. The memory limit is the
# ingest bench's (768MiB), or LEDGERGUARD_BENCH_INTEL_MEMORY_LIMIT ("none":
# no limit).
bench_intel_gateway() {
  local dir="$1" gw="$2" port="$3" key_file="$4" pprof_port="${5:-}" identity
  identity="$(network_cmd add-gateway Org2 "${gw}")"
  cat >"${dir}/gateway.yaml" <<YAML
mode: development
gateway_id: ${gw}
YAML
  if [[ "${LEDGERGUARD_BENCH_INTEL_MEMORY_LIMIT:-768MiB}" != none ]]; then
    echo "memory_limit: ${LEDGERGUARD_BENCH_INTEL_MEMORY_LIMIT:-768MiB}" >>"${dir}/gateway.yaml"
  fi
  cat >>"${dir}/gateway.yaml" <<YAML
log: {level: warn, format: text}
http: {listen: "127.0.0.1:${port}"}
syslog: {enabled: false}
metrics: {auth: none}
store: {dir: "${dir}/store", batch_max_events: 50000, batch_max_wait: 250ms}
ledger: {profile: "${BENCH_RUN_DIR}/connection-org2.json", identity: ${identity}}
backpressure: {max_unanchored_events: 20000000, max_pending_batches: 1000}
detection:
  enabled: true
  strict: false
  models_dir: "${BENCH_MODELS_DIR:-${LG_ROOT}/models}"
  onnxruntime_library: "${LG_BIN}/onnxruntime/libonnxruntime.so.1"
credentials:
  - {name: bench, token: bench-token-not-secret, scopes: [ndjson, read]}
YAML
  if [[ -n "${key_file}" ]]; then
    cat >>"${dir}/gateway.yaml" <<YAML
intel:
  enabled: true
  keys: [{id: bench, secret_file: "${key_file}"}]
  active_key: bench
YAML
  fi
  if [[ -n "${pprof_port}" ]]; then
    echo "debug: {pprof_listen: \"127.0.0.1:${pprof_port}\"}" >>"${dir}/gateway.yaml"
  fi
}

# proc_cpu_ticks PID prints the CPU time (user + system, clock ticks of
# 1/100 s) process PID has used so far, 0 when it has gone.
proc_cpu_ticks() {
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# accepted_events URL prints the events the gateway at URL has accepted so
# far (ledgerguard_ingest_events_accepted_total over every protocol; its
# /metrics needs no credential), 0 when it cannot be read.
accepted_events() {
  { curl -fsS "$1/metrics" 2>/dev/null || true; } | awk '/^ledgerguard_ingest_events_accepted_total/ { n += $2 } END { printf "%d\n", n }'
}

# bench_intel LOADGEN GATEWAY_BIN [PROFILE_DIR] starts two Org2 gateways
# (that binary) configured alike
# (bench_intel_gateway), one with the intel matcher on and one without;
# shares 10,000 GREEN indicators as Org1 (addresses the ingest events never
# carry: the matcher is loaded and consulted for every event, and matches
# nothing), times 100 single shares from commit to the first gateway's
# matcher (intel_share_to_match_*), then runs the same NDJSON ingest load
# (20 s, waiting until all is anchored and scored) against each in turn,
# off, on, off, on, so drift on a shared machine falls on both:
# intel_off_/intel_on_ingest_events_per_s are the means of each pair and
# intel_ingest_ratio = on / off (1.0 means the matcher costs nothing;
# goal >= 0.9). Beside it, what a shared machine moves much less: each
# gateway's CPU time per accepted event over its runs
# (intel_{off,on}_gateway_cpu_us_per_event, everything included: parse,
# store, detection, anchoring, alerts, garbage collection) and
# intel_ingest_cpu_ratio = off / on.
bench_intel() {
  local loadgen="$1" gw_bin="$2" profile="${3:-}" dir gw pid_on pid_off data_dir round mode url out pprof_on="" pprof_off="" godebug="${GODEBUG:-}"
  data_dir="${LEDGERGUARD_DATA_DIR:-${LG_ROOT}/../shared/data}"
  dir="$(mktemp -d "${BENCH_RUN_DIR}/bench-intel.XXXXXX")"
  gw="bench-intel-$(date +%s)"
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"${dir}/intel.key"
  mkdir -p "${dir}/on" "${dir}/off"
  if [[ -n "${profile}" ]]; then
    pprof_on=18192
    pprof_off=18193
    godebug="gctrace=1${godebug:+,${godebug}}"
  fi
  bench_intel_gateway "${dir}/on" "${gw}" 18188 "${dir}/intel.key" "${pprof_on}"
  bench_intel_gateway "${dir}/off" "${gw}-off" 18191 "" "${pprof_off}"
  GODEBUG="${godebug}" "${gw_bin}" gateway --config "${dir}/on/gateway.yaml" >"${dir}/on/gateway.log" 2>&1 &
  pid_on=$!
  GODEBUG="${godebug}" "${gw_bin}" gateway --config "${dir}/off/gateway.yaml" >"${dir}/off/gateway.log" 2>&1 &
  pid_off=$!
  if ! wait_http "http://127.0.0.1:18188/readyz" 120 0.25 || ! wait_http "http://127.0.0.1:18191/readyz" 120 0.25; then
    kill "${pid_on}" "${pid_off}" 2>/dev/null || true
    die "an intel bench gateway did not become ready; see ${dir}/on/gateway.log and ${dir}/off/gateway.log"
  fi
  local prof_on="" prof_off=""
  if [[ -n "${profile}" ]]; then
    bench_profile "${profile}/intel-on" "${pid_on}" "${pprof_on}" &
    prof_on=$!
    bench_profile "${profile}/intel-off" "${pid_off}" "${pprof_off}" &
    prof_off=$!
  fi
  log "bench: intel share to Org2's matcher (10,000 preloaded, then 100 single shares), then NDJSON ingest with detection on, without and with the matcher, twice each"
  (cd "${LG_ROOT}" && "${loadgen}" -run-dir "${BENCH_RUN_DIR}" -scenario intel-share -url http://127.0.0.1:18188 \
    -key-id bench -key-file "${dir}/intel.key" -n 100 -preload 10000) || true
  out="${dir}/ingest.txt"
  : >"${out}"
  # A discarded warm-up run for each: the first measured run otherwise
  # falls on a network still busy after the preload (it was the slowest of
  # the four in every run of the session-7 bench), which favoured "on".
  for url in http://127.0.0.1:18191 http://127.0.0.1:18188; do
    (cd "${LG_ROOT}" && "${loadgen}" -scenario ingest -protocol ndjson -url "${url}" -token bench-token-not-secret \
      -duration 5s -data "${data_dir}") >/dev/null || true
  done
  local pid cpu0 acc0 cpu1 acc1
  for round in 1 2; do
    for mode in off on; do
      url=http://127.0.0.1:18191
      pid="${pid_off}"
      [[ "${mode}" == on ]] && url=http://127.0.0.1:18188 && pid="${pid_on}"
      cpu0="$(proc_cpu_ticks "${pid}")"
      acc0="$(accepted_events "${url}")"
      (cd "${LG_ROOT}" && "${loadgen}" -scenario ingest -protocol ndjson -url "${url}" -token bench-token-not-secret \
        -duration 20s -data "${data_dir}") | sed -n "s/^BENCH ingest_events_per_s /${mode} ${round} /p" >>"${out}" || true
      cpu1="$(proc_cpu_ticks "${pid}")"
      acc1="$(accepted_events "${url}")"
      echo "cpu ${mode} $((cpu1 - cpu0)) $((acc1 - acc0))" >>"${out}"
      if [[ -n "${profile}" ]]; then
        curl -fsS -o "${profile}/intel-${mode}/metrics-run${round}.txt" "${url}/metrics" || true
        cp "${dir}/${mode}/gateway.log" "${profile}/intel-${mode}/gateway.log" || true
      fi
    done
  done
  awk '$1 == "cpu" { ticks[$2] += $3; events[$2] += $4; next }
       { sum[$1] += $3; n[$1]++; printf "BENCH intel_%s_ingest_events_per_s_run%s %s events/s\n", $1, $2, $3 }
       END { if (n["off"] > 0) printf "BENCH intel_off_ingest_events_per_s %.0f events/s\n", sum["off"] / n["off"]
             if (n["on"] > 0) printf "BENCH intel_on_ingest_events_per_s %.0f events/s\n", sum["on"] / n["on"]
             if (n["off"] > 0 && n["on"] > 0 && sum["off"] > 0)
               printf "BENCH intel_ingest_ratio %.3f ratio\n", (sum["on"] / n["on"]) / (sum["off"] / n["off"])
             if (events["off"] > 0 && events["on"] > 0 && ticks["on"] > 0) {
               printf "BENCH intel_off_gateway_cpu_us_per_event %.1f us\n", ticks["off"] * 1e4 / events["off"]
               printf "BENCH intel_on_gateway_cpu_us_per_event %.1f us\n", ticks["on"] * 1e4 / events["on"]
               printf "BENCH intel_ingest_cpu_ratio %.3f ratio\n", (ticks["off"] / events["off"]) / (ticks["on"] / events["on"]) } }' "${out}"
  if [[ -n "${profile}" ]]; then
    echo "BENCH intel_on_gateway_peak_rss_mib $(peak_rss_mib "${pid_on}") MiB"
    echo "BENCH intel_off_gateway_peak_rss_mib $(peak_rss_mib "${pid_off}") MiB"
  fi
  kill -TERM "${pid_on}" "${pid_off}" 2>/dev/null || true
  wait "${pid_on}" "${pid_off}" 2>/dev/null || true
  if [[ -n "${prof_on}" ]]; then wait "${prof_on}" "${prof_off}" 2>/dev/null || true; fi
  rm -rf "${dir}"
}

# bench_selected NAME SELECTED... reports whether scenario NAME is among
# SELECTED (every scenario when none is given).
bench_selected() {
  local name="$1"
  shift
  [[ $# -eq 0 ]] && return 0
  local s
  for s in "$@"; do [[ "${s}" == "${name}" ]] && return 0; done
  return 1
}

# main [SCENARIO...] runs the named scenarios, or all of them, and prints
# the figures that compare two scenarios of the run (ratio_lines).
# LEDGERGUARD_BENCH_GATEWAY names another gateway binary for the ingest,
# intel-ingest and action scenarios; LEDGERGUARD_BENCH_BASELINE names a second one
# each of them (and intel-ingest) runs first, on the same network, its
# figures prefixed baseline_ (to compare builds in one run), with the models of
# LEDGERGUARD_BENCH_BASELINE_MODELS if set (an older checkout's models/,
# which an older build can read); LEDGERGUARD_BENCH_PPROF_DIR
# profiles the (non-baseline) ingest gateway into that folder;
# LEDGERGUARD_BENCH_INTEL_IN_FLIGHT sets the intel scenario's
# ShareIndicators transactions in flight (default 6);
# LEDGERGUARD_BENCH_INTEL_MEMORY_LIMIT the intel-ingest gateways' memory
# limit (default 768MiB as for ingest, "none" for none);
# LEDGERGUARD_BENCH_INTEL_PPROF_DIR profiles both intel-ingest gateways
# into its intel-on/ and intel-off/ (heap and CPU profiles, RSS, /metrics
# after each run, the log with GODEBUG=gctrace=1). The ack scenario (run
# only when named) alternates the baseline and this build
# LEDGERGUARD_BENCH_ACK_ROUNDS times (default 3); with a baseline, the
# action scenario runs LEDGERGUARD_BENCH_ACTION_ROUNDS rounds (default 2),
# alternating which build goes first (bench_action_rounds).
main() {
  local s out
  for s in "$@"; do
    case "${s}" in
      submit | alerts | intel | ingest | ack | immudb | anchorcap | orgs | action | detect | console | taxii | intel-match | intel-ingest | store-ack) ;;
      *) die "unknown scenario ${s} (submit, alerts, intel, ingest, ack, immudb, anchorcap, orgs, action, detect, console, taxii, intel-match, intel-ingest, store-ack)" ;;
    esac
  done
  out="$(mktemp)"
  run_all "$@" | tee "${out}"
  ratio_lines "${out}"
  rm -f "${out}"
}

# run_all [SCENARIO...] runs the scenarios that need no network first,
# then starts the bench network for the others.
run_all() {
  if bench_selected detect "$@"; then bench_detect; bench_baseline; bench_alerter_read; fi
  if bench_selected console "$@"; then bench_console; fi
  if bench_selected taxii "$@"; then bench_taxii; fi
  if bench_selected intel-match "$@"; then bench_intel_match; fi
  if bench_selected store-ack "$@"; then bench_store_ack; fi
  if bench_selected immudb "$@"; then bench_immudb; fi
  local s needs_network=false
  for s in submit alerts intel ingest anchorcap orgs action intel-ingest; do
    if bench_selected "${s}" "$@"; then needs_network=true; fi
  done
  if [[ " $* " == *" ack "* ]]; then needs_network=true; fi
  [[ "${needs_network}" == true ]] || return 0
  if "${LG_ROOT}/scripts/network.sh" status 2>/dev/null | grep -q running; then
    die "the development network (network/run) is running and holds the ports the benchmarks need: run 'make network-down' first"
  fi
  local loadgen="${LG_BIN}/lg-bench"
  (cd "${LG_ROOT}" && go build -o "${loadgen}" ./test/bench)
  network_cmd reset >/dev/null
  trap stop_bench_network EXIT
  network_cmd up
  LEDGERGUARD_RUN_DIR="${BENCH_RUN_DIR}" "${LG_ROOT}/scripts/chaincode.sh" deploy
  if bench_selected submit "$@"; then
    log "bench: submit/evaluate latency (200 sequential submits, BatchTimeout from network/configtx.yaml)"
    (cd "${LG_ROOT}" && "${loadgen}" -run-dir "${BENCH_RUN_DIR}" -scenario submit -n 200)
  fi
  if bench_selected alerts "$@"; then
    log "bench: RaiseAlerts at 1, 100 and 1000 alerts per transaction, then deduplicated with 90 % repeats (15 s each)"
    (cd "${LG_ROOT}" && "${loadgen}" -run-dir "${BENCH_RUN_DIR}" -scenario alerts -duration 15s)
  fi
  if bench_selected intel "$@"; then
    log "bench: ShareIndicators, 1000 CLEAR/GREEN indicators per transaction with private values (15 s; ${LEDGERGUARD_BENCH_INTEL_IN_FLIGHT:-6} in flight)"
    (cd "${LG_ROOT}" && "${loadgen}" -run-dir "${BENCH_RUN_DIR}" -scenario intel -duration 15s -intel-in-flight "${LEDGERGUARD_BENCH_INTEL_IN_FLIGHT:-6}")
  fi
  if bench_selected ingest "$@"; then
    if [[ -n "${LEDGERGUARD_BENCH_BASELINE:-}" ]]; then
      log "bench: ingest with the baseline gateway ${LEDGERGUARD_BENCH_BASELINE} first (its figures prefixed baseline_)"
      BENCH_MODELS_DIR="${LEDGERGUARD_BENCH_BASELINE_MODELS:-}" bench_ingest "${LEDGERGUARD_BENCH_BASELINE}" "${loadgen}" | sed -u 's/^BENCH /BENCH baseline_/'
    fi
    bench_ingest "${LEDGERGUARD_BENCH_GATEWAY:-${LG_BIN}/ledgerguard}" "${loadgen}" "${LEDGERGUARD_BENCH_PPROF_DIR:-}"
  fi
  # ack only when named: the ingest scenario already prints the figure
  # once; this is the interleaved A/B of it (several minutes).
  if [[ " $* " == *" ack "* ]]; then
    bench_ack "${loadgen}" "${LEDGERGUARD_BENCH_ACK_ROUNDS:-3}"
  fi
  if bench_selected intel-ingest "$@"; then
    if [[ -n "${LEDGERGUARD_BENCH_BASELINE:-}" ]]; then
      log "bench: intel-ingest with the baseline gateway ${LEDGERGUARD_BENCH_BASELINE} first (its figures prefixed baseline_)"
      BENCH_MODELS_DIR="${LEDGERGUARD_BENCH_BASELINE_MODELS:-}" bench_intel "${loadgen}" "${LEDGERGUARD_BENCH_BASELINE}" | sed -u 's/^BENCH /BENCH baseline_/'
    fi
    bench_intel "${loadgen}" "${LEDGERGUARD_BENCH_GATEWAY:-${LG_BIN}/ledgerguard}" "${LEDGERGUARD_BENCH_INTEL_PPROF_DIR:-}"
  fi
  if bench_selected anchorcap "$@"; then
    bench_anchor_capacity 4
    bench_anchor_capacity 16
  fi
  if bench_selected orgs "$@"; then bench_orgs "${loadgen}"; fi
  if bench_selected action "$@"; then
    if [[ -n "${LEDGERGUARD_BENCH_BASELINE:-}" ]]; then
      bench_action_rounds "${LEDGERGUARD_BENCH_ACTION_ROUNDS:-2}"
    else
      bench_action "${LEDGERGUARD_BENCH_GATEWAY:-${LG_BIN}/ledgerguard}"
    fi
  fi
}

main "$@"
