#!/usr/bin/env bash
# make bench: every case of Ferry's performance next to curl and aria2c in
# one run, then the report in bench/results/ (results.md, results.json, PNG
# charts; cmd/benchreport) and in the README's Performance section.
#
# Cases (BENCH_CASES picks some, in order; by default big, small, then every
# scripts/bench-NAME.sh there is, e.g. cli):
#   big:   one 1 GiB file (BENCH_SIZE_MIB) from a real nginx on loopback.
#   small: 2,000 files of 16 KiB (BENCH_FILES, BENCH_FILE_KIB) in one job: curl
#          in one process over one kept-alive connection (a config file of
#          url/output pairs), aria2c -i with a list, Ferry as create,
#          addfileset, resume, wait, complete; and the same Ferry job with
#          HIGH_PERFORMANCE (tool "ferry HIGH_PERFORMANCE", its runs taking
#          turns with the plain job's, compared with it).
#   segmented: one 48 MiB file (BENCH_SEG_MIB) from nginx with limit_rate 2m
#          (2 MiB/s per connection): curl (one stream), aria2c -x16 -s16 -k1M,
#          and Ferry jobs with CONNECTIONS 8 and 16 (setproperty).
#   cli:   scripts/bench-cli.sh, what one command costs.
# Ferry's CPU is the engine's (the service process does the transfer) plus
# the client's.
#
# Records. A case writes its figures, besides its human output, as JSON
# lines appended to the file $BENCH_OUT, with bench_record and bench_note
# from scripts/benchrecord.sh (source it; both do nothing without BENCH_OUT):
#   bench_record case=big metric="wall time" tool=curl value=1.18 unit=s
#   bench_record case=big metric="wall time" tool=ferry value=1.01 unit=s vs=curl target="ratio<=1.5"
#   bench_note big "1024 MiB, best of 3 runs."
# which write
#   {"case":"big","metric":"wall time","tool":"ferry","value":1.01,"unit":"s","vs":"curl","target":"ratio<=1.5"}
# case, metric, tool, value (a number) and unit make a measurement: one cell
# of the case's table (a row per metric, a column per tool: Ferry, curl,
# aria2c, then any other). vs names another tool of the same case and
# metric: the report shows value / that tool's value. ratio gives the ratio
# when the case computes it (e.g. against a figure of another metric).
# target is "ratio<=N", "ratio>=N", "value<=N" or "value>=N"; the report
# says met or not met. The same measurement may be recorded again with
# another vs (Ferry against curl and against aria2c). A note (case and note
# only) is a sentence under the case's table; case "" is about the run.
# A case with a time series (throughput over time) writes a CSV
# "scenario,t_seconds,bytes_per_second" (a header line, then one line a
# sample, bytes per second in the interval ending at t) to
# $BENCH_SERIES/NAME.csv; the report charts each scenario as a line.
#
# A new case: either a function bench_NAME in this file (it can use nginx at
# $base, $www, measure, best, report) or a script scripts/bench-NAME.sh,
# run from the repository's root with BENCH_OUT, BENCH_SERIES, FERRY (an
# absolute path) and FERRY_HOME (this run's engine; a case that wants its
# own sets its own) in its environment. It exits non-zero when it fails:
# the run goes on with the other cases, says so in the report and fails at
# the end.
#   upload: one 256 MiB file (BENCH_UPLOAD_MIB) uploaded by a Ferry upload job
#          to `ferry serve-uploads` on loopback (BITS upload protocol, every
#          fragment fsynced before its Ack), next to curl downloading the same
#          file from nginx in the same run (curl and aria2c do not speak BITS).
#   queue: scripts/bench-queue.sh, a queue of 10,000 jobs with 100,000 files.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/benchrecord.sh
. scripts/benchrecord.sh
# BENCH_NOTE: a sentence for the report's first paragraph (the machine, say).
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
FILES=${BENCH_FILES:-2000}
FILE_KIB=${BENCH_FILE_KIB:-16}
RUNS=${BENCH_RUNS:-3}
# Cases written as scripts: scripts/bench-NAME.sh.
script_cases=$(for f in scripts/bench-*.sh; do [ -e "$f" ] && f=${f#scripts/bench-} && echo "${f%.sh}"; done | tr '\n' ' ')
CASES=${BENCH_CASES:-big small segmented upload $script_cases}
RESULTS=${BENCH_RESULTS:-bench/results}
README=${BENCH_README-README.md}
FERRY=$(realpath -m "${FERRY:-build/bin/ferry}")
SEG_MIB=${BENCH_SEG_MIB:-48}
UPLOAD_MIB=${BENCH_UPLOAD_MIB:-256}
[ -x "$FERRY" ] || { echo "bench: $FERRY is missing (make build)" >&2; exit 1; }
work=$(mktemp -d /tmp/ferry-bench.XXXXXX)
cleanup() {
  [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null || true
  FERRY_HOME=$work/home "$FERRY" --no-autostart shutdown >/dev/null 2>&1 || true
  [ -n "${svc:-}" ] && wait "$svc" 2>/dev/null || true
  [ -n "${up_pid:-}" ] && kill "$up_pid" 2>/dev/null && wait "$up_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www/slow" "$work/out" "$work/home" "$work/nginx" "$work/series"
export BENCH_OUT=${BENCH_OUT:-$work/records.jsonl} BENCH_SERIES=${BENCH_SERIES:-$work/series} FERRY
: >"$BENCH_OUT"
touch "$work/started"
# The report's generator, built first: a run should not fail at its end.
go build -o "$work/benchreport" ./cmd/benchreport
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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
  keepalive_requests 100000;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$port; root $work/www;
    location /slow/ { limit_rate 2m; }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/" -r 0-0 --head 2>/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"

export FERRY_HOME=$work/home
"$FERRY" service >"$work/service.log" 2>&1 &
svc=$!
for _ in $(seq 100); do "$FERRY" --no-autostart list >/dev/null 2>&1 && break; sleep 0.1; done
tck=$(getconf CLK_TCK)
proc_cpu() { awk -v t="$tck" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat"; }

# measure NAME CMD...: prints "wall cpu" of the command (its children
# included; for ferry also the engine process's CPU, which does the transfer).
measure() {
  local name=$1; shift
  local s0 e0 t
  s0=$(proc_cpu "$svc")
  if [ -n "${up_pid:-}" ]; then s0=$(awk -v a="$s0" -v b="$(proc_cpu "$up_pid")" 'BEGIN{print a+b}'); fi
  TIMEFORMAT="%R %U %S"
  t=$( { time "$@" >/dev/null 2>"$work/err"; } 2>&1 ) || { echo "$name failed:" >&2; cat "$work/err" >&2; exit 1; }
  e0=$(proc_cpu "$svc")
  if [ -n "${up_pid:-}" ]; then e0=$(awk -v a="$e0" -v b="$(proc_cpu "$up_pid")" 'BEGIN{print a+b}'); fi
  awk -v t="$t" -v s="$s0" -v e="$e0" -v n="$name" 'BEGIN{split(t,a," "); extra=(n=="ferry")?(e-s):0; printf "%.3f %.3f\n", a[1], a[2]+a[3]+extra}'
}

# best TOOL "wall cpu": keeps the fastest run of TOOL.
declare -A wall cpu
best() {
  set -- "$1" $2
  if [ -z "${wall[$1]:-}" ] || awk -v a="$2" -v b="${wall[$1]}" 'BEGIN{exit !(a<b)}'; then wall[$1]=$2; cpu[$1]=$3; fi
}

# report CASE TITLE UNIT SCALE: the table (UNIT/s = SCALE / wall), the
# ratios, and the case's records.
report() {
  local c=$1 tool; shift
  printf '\n%s, best of %s runs\n' "$1" "$RUNS"
  printf '%-8s %10s %10s %12s\n' tool wall_s cpu_s "$2/s"
  local tools=${4:-curl aria2c ferry}
  for tool in $tools; do
    awk -v n="$tool" -v w="${wall[$tool]}" -v c="${cpu[$tool]}" -v s="$3" 'BEGIN{printf "%-8s %10.3f %10.3f %12.1f\n", n, w, c, s/w}'
  done
  if [ -z "${wall[aria2c]:-}" ]; then
    awk -v f="${wall[ferry]}" -v c="${wall[curl]}" -v fc="${cpu[ferry]}" -v cc="${cpu[curl]}" \
      'BEGIN{printf "ferry/curl: wall %.2fx cpu %.2fx\n", f/c, fc/cc}'
  else
    awk -v f="${wall[ferry]}" -v c="${wall[curl]}" -v a="${wall[aria2c]}" -v fc="${cpu[ferry]}" -v cc="${cpu[curl]}" -v ac="${cpu[aria2c]}" \
      'BEGIN{printf "ferry/curl: wall %.2fx cpu %.2fx   ferry/aria2c: wall %.2fx cpu %.2fx\n", f/c, fc/cc, f/a, fc/ac}'
  fi
  bench_note "$c" "$1, best of $RUNS runs each, SHA-256 checked; Ferry's CPU is its engine's plus the client's (for an upload, also the server's)."
  for tool in $tools; do
    bench_record case="$c" metric="wall time" tool=$tool value="${wall[$tool]}" unit=s
    bench_record case="$c" metric="CPU time" tool=$tool value="${cpu[$tool]}" unit=s
    bench_record case="$c" metric=throughput tool=$tool unit="$2/s" \
      value="$(awk -v w="${wall[$tool]}" -v s="$3" 'BEGIN{printf "%.1f", s/w}')"
  done
  for tool in $tools; do
    [ "$tool" = ferry ] && continue
    bench_record case="$c" metric="wall time" tool=ferry value="${wall[ferry]}" unit=s vs=$tool ${5:+target="$5"}
    bench_record case="$c" metric="CPU time" tool=ferry value="${cpu[ferry]}" unit=s vs=$tool
  done
  wall=() cpu=()
}

bench_big() {
  head -c $((SIZE_MIB << 20)) /dev/urandom >"$work/www/big.bin"
  local want url=$base/big.bin r got
  want=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)
  for tool in curl aria2c ferry; do
    for _ in $(seq "$RUNS"); do
      rm -f "$work/out/$tool"
      case $tool in
        curl) r=$(measure curl curl -sS -o "$work/out/curl" "$url") ;;
        aria2c) r=$(measure aria2c aria2c -q --allow-overwrite=true --file-allocation=none -d "$work/out" -o aria2c "$url") ;;
        ferry) r=$(measure ferry "$FERRY" transfer --name bench "$url" "$work/out/ferry") ;;
      esac
      got=$(sha256sum "$work/out/$tool" | cut -d' ' -f1)
      [ "$got" = "$want" ] || { echo "$tool: SHA-256 mismatch" >&2; exit 1; }
      best "$tool" "$r"
    done
  done
  rm -f "$work/www/big.bin" "$work/out/"*
  report big "$SIZE_MIB MiB over loopback from nginx" MiB "$SIZE_MIB"
}

# ferry_small DIR [hp]: one job of every small file, as a script would
# drive it; with hp, the job is HIGH_PERFORMANCE (files written in place).
ferry_small() {
  local id
  id=$("$FERRY" create small)
  "$FERRY" setpriority "$id" foreground
  if [ "${2:-}" = hp ]; then "$FERRY" setproperty "$id" HIGH_PERFORMANCE true; fi
  "$FERRY" addfileset "$id" "$1.list"
  "$FERRY" resume "$id"
  "$FERRY" wait "$id" --timeout 600
  "$FERRY" complete "$id"
}

# small_run TOOL RUN: one timed run of the small case.
small_run() {
  local tool=$1 out=$work/out/$1 r
  rm -rf "$out" && mkdir -p "$out"
  case $tool in
    curl) r=$(measure curl curl -sS -K "$out.list") ;;
    aria2c) r=$(measure aria2c aria2c -q --allow-overwrite=true --file-allocation=none -d "$out" -i "$out.list") ;;
    ferry) r=$(measure ferry ferry_small "$out") ;;
    ferry-hp) r=$(measure ferry ferry_small "$out" hp) ;;
  esac
  (cd "$out" && sha256sum --quiet -c "$work/small.sha256") || { echo "$tool: SHA-256 mismatch (run $2)" >&2; exit 1; }
  best "$tool" "$r"
}


bench_small() {
  local src=$work/www/small i name
  mkdir -p "$src"
  head -c $((FILES * FILE_KIB << 10)) /dev/urandom | split -b $((FILE_KIB << 10)) -a 5 -d - "$src/f"
  (cd "$src" && sha256sum f* >"$work/small.sha256")
  "$FERRY" config set maxFilesPerJob "$FILES" >/dev/null
  for tool in curl aria2c ferry ferry-hp; do
    local out=$work/out/$tool
    : >"$out.list"
    for name in $(cd "$src" && ls); do
      case $tool in
        curl) printf 'url = "%s/small/%s"\noutput = "%s/%s"\n' "$base" "$name" "$out" "$name" ;;
        aria2c) printf '%s/small/%s\n  out=%s\n' "$base" "$name" "$name" ;;
        ferry|ferry-hp) printf '%s/small/%s %s/%s\n' "$base" "$name" "$out" "$name" ;;
      esac >>"$out.list"
    done
  done
  for tool in curl aria2c; do
    for i in $(seq "$RUNS"); do small_run "$tool" "$i"; done
  done
  # Ferry with and without HIGH_PERFORMANCE take turns, so that neither
  # gets the quieter moments of the machine or a fresher engine.
  for i in $(seq "$RUNS"); do
    for tool in ferry ferry-hp; do small_run "$tool" "$i"; done
  done
  rm -rf "$work/out/"*
  # HIGH_PERFORMANCE against the same job without it, same run (recorded
  # after the case's own figures, so that its ratio comes last in a cell).
  local hw=${wall[ferry-hp]} hc=${cpu[ferry-hp]} fw=${wall[ferry]} fc=${cpu[ferry]}
  awk -v h="$hw" -v f="$fw" -v hc="$hc" -v fc="$fc" \
    'BEGIN{printf "ferry HIGH_PERFORMANCE: wall %.3f s cpu %.3f s; /ferry: wall %.2fx cpu %.2fx\n", h, hc, h/f, hc/fc}'
  unset 'wall[ferry-hp]' 'cpu[ferry-hp]'
  report small "$FILES files of $FILE_KIB KiB in one job over loopback from nginx" files "$FILES"
  bench_record case=small metric="wall time" tool="ferry HIGH_PERFORMANCE" value="$hw" unit=s vs=ferry
  bench_record case=small metric="CPU time" tool="ferry HIGH_PERFORMANCE" value="$hc" unit=s vs=ferry
  bench_note small "Ferry HIGH_PERFORMANCE is the same job with setproperty HIGH_PERFORMANCE true (files written in place, no temporary file); its runs alternate with Ferry's."
}

# ferry_seg N URL OUT: one FOREGROUND job with CONNECTIONS N, as a script drives it.
ferry_seg() {
  local id
  id=$("$FERRY" create seg)
  "$FERRY" setpriority "$id" foreground
  "$FERRY" setproperty "$id" CONNECTIONS "$1"
  "$FERRY" addfile "$id" "$2" "$3"
  "$FERRY" resume "$id"
  "$FERRY" wait "$id" >/dev/null
  "$FERRY" complete "$id"
}

bench_segmented() {
  head -c $((SEG_MIB << 20)) /dev/urandom >"$work/www/slow/seg.bin"
  local want url=$base/slow/seg.bin r got tool
  want=$(sha256sum "$work/www/slow/seg.bin" | cut -d' ' -f1)
  for tool in curl aria2c ferry-8 ferry-16; do
    rm -f "$work/out/$tool"
    case $tool in
      curl) r=$(measure curl curl -sS -o "$work/out/curl" "$url") ;;
      aria2c) r=$(measure aria2c aria2c -q -x16 -s16 -k1M --allow-overwrite=true --file-allocation=none -d "$work/out" -o aria2c "$url") ;;
      ferry-*) r=$(measure ferry ferry_seg "${tool#ferry-}" "$url" "$work/out/$tool") ;;
    esac
    got=$(sha256sum "$work/out/$tool" | cut -d' ' -f1)
    [ "$got" = "$want" ] || { echo "$tool: SHA-256 mismatch" >&2; exit 1; }
    wall[$tool]=${r% *} cpu[$tool]=${r#* }
  done
  printf '\n%s MiB from nginx limited to 2 MiB/s per connection (limit_rate 2m), one run each\n' "$SEG_MIB"
  printf '%-9s %10s %10s %12s\n' tool wall_s cpu_s "MB/s"
  for tool in curl aria2c ferry-8 ferry-16; do
    awk -v n="$tool" -v w="${wall[$tool]}" -v c="${cpu[$tool]}" -v s="$SEG_MIB" 'BEGIN{printf "%-9s %10.3f %10.3f %12.1f\n", n, w, c, s*1.048576/w}'
  done
  awk -v f8="${wall[ferry-8]}" -v f16="${wall[ferry-16]}" -v a="${wall[aria2c]}" -v s="$SEG_MIB" \
    'BEGIN{printf "ferry-8: %.2fx of 8 x 2 MiB/s   ferry-16/aria2c rate: %.2fx\n", s/f8/16, a/f16}'
  bench_note segmented "$SEG_MIB MiB from nginx limited to 2 MiB/s per connection (limit_rate 2m), one run each, SHA-256 checked. Targets (issue 15): CONNECTIONS 8 at least 0.9 x 8 x 2 MiB/s; CONNECTIONS 16 at least aria2c -x16 -s16's rate."
  for tool in curl aria2c ferry-8 ferry-16; do
    bench_record case=segmented metric=throughput tool="$tool" unit="MiB/s" \
      value="$(awk -v w="${wall[$tool]}" -v s="$SEG_MIB" 'BEGIN{printf "%.2f", s/w}')"
  done
  bench_record case=segmented metric="share of 8 x 2 MiB/s" tool=ferry-8 unit=x target="value>=0.9" \
    value="$(awk -v w="${wall[ferry-8]}" -v s="$SEG_MIB" 'BEGIN{printf "%.3f", s/w/16}')"
  bench_record case=segmented metric=throughput tool=ferry-16 unit="MiB/s" vs=aria2c target="ratio>=1" \
    value="$(awk -v w="${wall[ferry-16]}" -v s="$SEG_MIB" 'BEGIN{printf "%.2f", s/w}')"
  wall=() cpu=()
  rm -f "$work/www/slow/seg.bin" "$work/out/"*
}


# bench_upload: curl downloads the file from nginx, then a Ferry upload job
# (`ferry transfer --upload`: create, addfile, resume, wait, complete) sends
# it to `ferry serve-uploads`; runs alternate, so both see the same machine.
bench_upload() {
  head -c $((UPLOAD_MIB << 20)) /dev/urandom >"$work/www/up.bin"
  local want r got i uport
  want=$(sha256sum "$work/www/up.bin" | cut -d' ' -f1)
  mkdir -p "$work/in"
  uport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$FERRY" serve-uploads --listen "127.0.0.1:$uport" --dir "$work/in" --overwrite >"$work/serve-uploads.log" 2>&1 &
  up_pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null -X BITS_POST -H 'BITS-Packet-Type: Ping' "http://127.0.0.1:$uport/" && break; sleep 0.1; done
  for i in $(seq "$RUNS"); do
    rm -f "$work/out/curl"
    r=$(measure curl curl -sS -o "$work/out/curl" "$base/up.bin")
    got=$(sha256sum "$work/out/curl" | cut -d' ' -f1)
    [ "$got" = "$want" ] || { echo "curl: SHA-256 mismatch" >&2; exit 1; }
    best curl "$r"
    rm -f "$work/out/curl" "$work/in/up.bin"
    r=$(measure ferry "$FERRY" transfer --upload --name bench-up "http://127.0.0.1:$uport/up.bin" "$work/www/up.bin")
    got=$(sha256sum "$work/in/up.bin" | cut -d' ' -f1)
    [ "$got" = "$want" ] || { echo "ferry upload: SHA-256 mismatch (run $i)" >&2; exit 1; }
    best ferry "$r"
  done
  kill "$up_pid" && wait "$up_pid" 2>/dev/null || true
  up_pid=
  rm -rf "$work/www/up.bin" "$work/in" "$work/out/"*
  report upload "$UPLOAD_MIB MiB upload to ferry serve-uploads (curl: the same file downloaded from nginx)" MiB "$UPLOAD_MIB" "curl ferry" "ratio<=1.5"
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
# busy: whether the last minute's load average is at least half the
# processors: then other work shares the machine and the figures move.
busy() { awk -v p="$(nproc)" '{exit !($1 >= p / 2)}' /proc/loadavg; }
was_busy=$(busy && echo 1 || true)
bench_note "" "Cases: ${CASES% }; $(nproc) processors; load average $(load) at the start."
[ -z "${BENCH_NOTE:-}" ] || bench_note "" "$BENCH_NOTE"
failed=()
for c in $CASES; do
  if declare -F "bench_$c" >/dev/null; then
    run=("bench_$c")
  elif [ -x "scripts/bench-$c.sh" ]; then
    run=("scripts/bench-$c.sh")
  else
    echo "bench: unknown case $c (big, small, $script_cases)" >&2; exit 2
  fi
  echo; echo "== $c"
  # No case pays for another's writeback: the 1 GiB case leaves gigabytes
  # dirty in the page cache, and the next case's fsyncs (syncfs on Linux,
  # which flushes the whole file system) would do that work (small files
  # measured 3-5x curl right after it, 1.0-1.3x alone).
  sync
  # A subshell, so that a case that fails (exit in a function included)
  # leaves the others to run; -e again inside it, as a case expects.
  set +e
  ( set -e; "${run[@]}" )
  st=$?
  set -e
  if [ "$st" != 0 ]; then
    echo "bench: case $c failed (exit status $st)" >&2
    bench_note "" "Case $c FAILED (exit status $st): its figures are missing or partial."
    failed+=("$c")
  fi
done
bench_note "" "Load average $(load) at the end."
if [ -n "$was_busy" ] || busy; then
  bench_note "" "The machine was busy with other work (load average at least half its processors): the figures are noisy; compare ratios from a quiet run."
fi

# A case that wrote its series straight into the results directory (as
# issue 15's first notes had it) is charted too: the CSVs written during
# this run move to the series directory, and the report copies them back.
find "$RESULTS" -maxdepth 1 -name '*.csv' -newer "$work/started" -exec mv -t "$BENCH_SERIES" {} + 2>/dev/null || true
commit=$(git describe --always --dirty 2>/dev/null || true)
"$work/benchreport" -in "$BENCH_OUT" -series "$BENCH_SERIES" -out "$RESULTS" ${README:+-readme "$README"} ${commit:+-commit "$commit"}
echo
echo "bench: report in $RESULTS/results.md${README:+ and $README}"
[ ${#failed[@]} = 0 ] || { echo "bench: failed cases: ${failed[*]}" >&2; exit 1; }
