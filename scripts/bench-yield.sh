#!/usr/bin/env bash
# The yield benchmark (issue 15, target 2): on a 50 Mbit/s link shaped by tbf
# in network namespaces of its own (scripts/yield-net.sh; root), joined by a
# plain veth pair and through delayline at 20 ms each way (40 ms base RTT)
# after a router namespace that holds the bottleneck queue,
# nginx serving a large file in the server namespace and, in the client one:
#   curl_alone          curl for BENCH_YIELD_SECONDS (default 20)
#   ferry_alone         a LOW Ferry job (the engine runs in the client namespace)
#   ferry_beside_curl,  the LOW job first, curl joining after BENCH_YIELD_WARMUP
#   curl_beside_ferry   seconds (default 5)
# Throughput over time goes to bench/results/yield-LINK.csv, columns
# scenario,t_seconds,bytes_per_second (0.5 s samples), and the summary
# (curl's share beside the job, the job's share of the link alone) to stdout
# and bench/results/yield.txt. BENCH_RUNS repeats (medians reported).
# YIELD_CC: the congestion control nginx sends with (default cubic, what
# most servers run; bbr keeps the queue short and is reported separately).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/benchrecord.sh
. scripts/benchrecord.sh
FERRY=${FERRY:-build/bin/ferry}
[ -x "$FERRY" ] || { echo "bench-yield: $FERRY is missing (make build)" >&2; exit 1; }
FERRY=$(realpath "$FERRY")
[ "$(id -u)" = 0 ] || { echo "bench-yield: needs root (network namespaces)" >&2; exit 1; }
SECS=${BENCH_YIELD_SECONDS:-20}
WARMUP=${BENCH_YIELD_WARMUP:-5}
RUNS=${BENCH_RUNS:-3}
LINKS=${BENCH_YIELD_LINKS:-plain 40ms}
LINK_BPS=$((50000000 / 8))
out=bench/results
mkdir -p "$out"
work=$(mktemp -d /tmp/ferry-yield.XXXXXX)
name=fyb$$
cleanup() {
  [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null || true
  FERRY_HOME=$work/home "$FERRY" --no-autostart shutdown >/dev/null 2>&1 || true
  [ -n "${svc:-}" ] && wait "$svc" 2>/dev/null || true
  scripts/yield-net.sh down "$name" "$work/net" || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www" "$work/nginx" "$work/home" "$work/out"
truncate -s 8G "$work/www/big.bin"
url=http://10.77.0.1:8080/big.bin
cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 10.77.0.1:8080; root $work/www; }
}
CONF
export FERRY_HOME=$work/home

# sample SCENARIO SECONDS CMD: prints SCENARIO,t,rate about every 0.5 s
# for SECONDS, CMD printing a byte count (the rate over the time each
# interval really took).
sample() {
  local sc=$1 secs=$2 prev=0 t0 last now b
  shift 2
  t0=$(date +%s.%N) last=$t0
  while awk -v a="$last" -v b="$t0" -v s="$secs" 'BEGIN{exit !(a-b < s)}'; do
    sleep 0.5
    b=$("$@" 2>/dev/null || echo "$prev")
    now=$(date +%s.%N)
    awk -v s="$sc" -v t="$now" -v t0="$t0" -v l="$last" -v b="$b" -v p="$prev" 'BEGIN{printf "%s,%.1f,%.0f\n", s, t-t0, (b-p)/(t-l)}'
    prev=$b last=$now
  done
}
fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }
# jobbytes: what the LOW job has written so far, from its temporary file's
# size (one connection writes in order). The engine's progress counter
# (`info`) moves at checkpoints and costs a CLI call and a JSON parse per
# sample: under load a sample took 3 s and read 11 MB/s on a 6 MB/s link.
jobbytes() { find "$work/out" -type f ! -name curl.bin -printf '%s\n' | awk '{s+=$1} END{printf "%d\n", s}'; }

start_job() {
  local id
  id=$("$FERRY" create yield-bench)
  "$FERRY" addfile "$id" "$url" "$work/out/job-$RANDOM.bin" >/dev/null
  "$FERRY" setpriority "$id" low >/dev/null
  "$FERRY" resume "$id" >/dev/null
  echo "$id"
}
start_curl() { rm -f "$work/out/curl.bin"; ip netns exec "$name-c" curl -s -o "$work/out/curl.bin" --max-time "$1" "$url" & curl_pid=$!; }
# mean SCENARIO FROM CSV: the mean rate over the intervals that start at
# FROM seconds or later, weighted by their length (under load a sample can
# take seconds, and its interval then reaches back into the ramp-up).
mean() {
  awk -F, -v s="$1" -v from="${2:-0}" '$1==s {if (p>=from) {t+=$3*($2-p); d+=$2-p}; p=$2} END{printf "%.0f", d?t/d:0}' "$3"
}
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

: >"$out/yield.txt"
bench_note yield "50 Mbit/s (tbf, 400 ms of queue) on a router namespace between nginx (sending with ${YIELD_CC:-cubic}) and the client, joined by a veth pair (plain) or through delayline at 20 ms each way (40 ms); medians of $RUNS runs of $SECS s, each mean over its last $((SECS - 2)) s; Ferry is a LOW job with bandwidth.yield ${BENCH_YIELD:-true}; the LOW job's share is of the link's 50 Mbit/s."
for link in $LINKS; do
  case $link in plain) delay=0 ;; 40ms) delay=20ms ;; *) echo "bench-yield: unknown link $link" >&2; exit 2 ;; esac
  scripts/yield-net.sh up "$name" "$delay" "$work/net"
  ip netns exec "$name-s" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  nginx_pid=$!
  for _ in $(seq 50); do ip netns exec "$name-c" curl -sf -o /dev/null -r 0-0 "$url" && break; sleep 0.1; done
  ip netns exec "$name-c" "$FERRY" service >"$work/service.log" 2>&1 &
  svc=$!
  for _ in $(seq 100); do "$FERRY" --no-autostart list >/dev/null 2>&1 && break; sleep 0.1; done
  # On by default; set anyway (BENCH_YIELD=false measures a plain background job).
  "$FERRY" --no-autostart config set bandwidth.yield "${BENCH_YIELD:-true}" >/dev/null
  csv=$out/yield-$link.csv
  echo "scenario,t_seconds,bytes_per_second" >"$csv"
  shares=() alones=() cas=() cbs=() fas=()
  for run in $(seq "$RUNS"); do
    tmp=$work/run.csv
    : >"$tmp"
    start_curl "$SECS"
    sample curl_alone "$SECS" fsize "$work/out/curl.bin" >>"$tmp"
    wait "$curl_pid" || true
    id=$(start_job)
    sample ferry_alone "$SECS" jobbytes "$id" >>"$tmp"
    "$FERRY" cancel "$id" >/dev/null
    id=$(start_job)
    sample ferry_beside_curl $((WARMUP + SECS)) jobbytes "$id" >>"$tmp" &
    sp=$!
    sleep "$WARMUP"
    start_curl "$SECS"
    sample curl_beside_ferry "$SECS" fsize "$work/out/curl.bin" >>"$tmp"
    wait "$curl_pid" || true
    wait "$sp"
    "$FERRY" cancel "$id" >/dev/null
    rm -f "$work/out/"*
    # Runs after the first go to the CSV too, the scenario named with the run.
    if [ "$run" = 1 ]; then cat "$tmp" >>"$csv"; else sed "s/^\([a-z_]*\),/\1#$run,/" "$tmp" >>"$csv"; fi
    # Means skip the first 2 s of each (slow start).
    ca=$(mean curl_alone 2 "$tmp"); cb=$(mean curl_beside_ferry 2 "$tmp"); fa=$(mean ferry_alone 2 "$tmp")
    cas+=("$ca") cbs+=("$cb") fas+=("$fa")
    shares+=("$(awk -v a="$ca" -v b="$cb" 'BEGIN{printf "%.1f", a?100*b/a:0}')")
    alones+=("$(awk -v f="$fa" -v l="$LINK_BPS" 'BEGIN{printf "%.1f", 100*f/l}')")
    printf '%s run %d: curl alone %.2f MB/s, beside the LOW job %.2f MB/s (%s%%); the LOW job alone %.2f MB/s (%s%% of 50 Mbit/s)\n' \
      "$link" "$run" "$(awk -v x="$ca" 'BEGIN{print x/1e6}')" "$(awk -v x="$cb" 'BEGIN{print x/1e6}')" "${shares[-1]}" \
      "$(awk -v x="$fa" 'BEGIN{print x/1e6}')" "${alones[-1]}" | tee -a "$out/yield.txt"
  done
  printf '%s link, median of %d runs: curl keeps %s%% beside a LOW job (target >= 90%%); the LOW job alone uses %s%% of the link (target >= 80%%)\n' \
    "$link" "$RUNS" "$(echo "${shares[@]}" | median)" "$(echo "${alones[@]}" | median)" | tee -a "$out/yield.txt"
  mb() { echo "$@" | median | awk '{printf "%.2f", $1/1e6}'; }
  share=$(echo "${shares[@]}" | median) alone=$(echo "${alones[@]}" | median)
  bench_record case=yield metric="curl's throughput, $link link" tool="curl alone" unit=MB/s value="$(mb "${cas[@]}")"
  bench_record case=yield metric="curl's throughput, $link link" tool="curl beside Ferry LOW" unit=MB/s value="$(mb "${cbs[@]}")" \
    vs="curl alone" ratio="$(awk -v x="$share" 'BEGIN{printf "%.3f", x/100}')" target="ratio>=0.9"
  bench_record case=yield metric="Ferry LOW alone, $link link" tool="Ferry LOW" unit=MB/s value="$(mb "${fas[@]}")" \
    ratio="$(awk -v x="$alone" 'BEGIN{printf "%.3f", x/100}')" target="ratio>=0.8"
  "$FERRY" --no-autostart shutdown >/dev/null 2>&1 || true
  wait "$svc" 2>/dev/null || true
  svc=
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=
  scripts/yield-net.sh down "$name" "$work/net"
done
