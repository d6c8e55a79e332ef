#!/usr/bin/env bash
# make bench's queue case: a queue of 10,000 jobs with 100,000 files
# (BENCH_QUEUE_JOBS, BENCH_QUEUE_FILES per job; suspended downloads written
# through the engine by scripts/queuegen), then, against it:
#   cold start: `ferry service` launched until its first answer (a getstate
#               polled every few milliseconds), median of BENCH_RUNS starts;
#   list --json and list --json --verbose: wall time, median of BENCH_RUNS
#               (at least 5);
#   engine RSS: the engine's resident memory 2 s after its start, and after
#               those commands (and its peak, VmHWM);
#   idle CPU: the engine's CPU time over 10 s with nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${BENCH_QUEUE_JOBS:-10000}
FILES=${BENCH_QUEUE_FILES:-10}
RUNS=${BENCH_RUNS:-3}
LRUNS=$(( RUNS < 5 ? 5 : RUNS ))
FERRY=${FERRY:-build/bin/ferry}
[ -x "$FERRY" ] || { echo "bench-queue: $FERRY is missing (make build)" >&2; exit 1; }
work=$(mktemp -d /tmp/ferry-bench-queue.XXXXXX)
export FERRY_HOME=$work/home
cleanup() {
  "$FERRY" --no-autostart shutdown >/dev/null 2>&1 || true
  [ -n "${svc:-}" ] && wait "$svc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/queuegen" ./scripts/queuegen
t0=$(date +%s.%N)
id=$("$work/queuegen" -jobs "$JOBS" -files "$FILES" -dir "$work/out")
t1=$(date +%s.%N)
tck=$(getconf CLK_TCK)
proc_cpu() { awk -v t="$tck" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat"; }
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

# start: launches the engine; $took is the seconds to its first answer.
start() {
  local s
  s=$(now)
  "$FERRY" service >>"$work/service.log" 2>&1 &
  svc=$!
  until "$FERRY" --no-autostart getstate "$id" >/dev/null 2>&1; do
    kill -0 "$svc" 2>/dev/null || { echo "bench-queue: the engine exited" >&2; cat "$work/service.log" >&2; exit 1; }
    sleep 0.002
  done
  took=$(awk -v a="$s" -v b="$(now)" 'BEGIN{printf "%.3f\n", b-a}')
}
stop() { "$FERRY" --no-autostart shutdown >/dev/null; wait "$svc" 2>/dev/null || true; svc=; }

# timed CMD...: the wall time of one run.
timed() {
  local s
  s=$(now)
  "$@" >/dev/null
  awk -v a="$s" -v b="$(now)" 'BEGIN{printf "%.3f\n", b-a}'
}

cold=()
for _ in $(seq "$RUNS"); do start; cold+=("$took"); stop; done
start
sleep 2
rss0=$(awk '/^VmRSS/{printf "%.1f", $2/1024}' "/proc/$svc/status")
n=$("$FERRY" --no-autostart list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d))')
[ "$n" = "$JOBS" ] || { echo "bench-queue: list shows $n jobs, want $JOBS" >&2; exit 1; }
list=() verbose=()
for _ in $(seq "$LRUNS"); do
  list+=("$(timed "$FERRY" --no-autostart list --json)")
  verbose+=("$(timed "$FERRY" --no-autostart list --json --verbose)")
done
rss=$(awk '/^VmRSS/{printf "%.1f", $2/1024}' "/proc/$svc/status")
hwm=$(awk '/^VmHWM/{printf "%.1f", $2/1024}' "/proc/$svc/status")
sleep 2
c0=$(proc_cpu "$svc"); sleep 10; c1=$(proc_cpu "$svc")
idle=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.1f", (b-a)/10*100}')

printf '\nA queue of %d jobs with %d files (built in %.1f s), medians\n' "$JOBS" $((JOBS * FILES)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
printf '%-34s %10s\n' figure value
printf '%-34s %9ss   (runs: %s)\n' "cold start to the first answer" "$(printf '%s\n' "${cold[@]}" | median)" "${cold[*]}"
printf '%-34s %9ss   (runs: %s)\n' "list --json" "$(printf '%s\n' "${list[@]}" | median)" "${list[*]}"
printf '%-34s %9ss   (runs: %s)\n' "list --json --verbose" "$(printf '%s\n' "${verbose[@]}" | median)" "${verbose[*]}"
printf '%-34s %8s MiB\n' "engine RSS 2 s after its start" "$rss0"
printf '%-34s %8s MiB (peak %s MiB)\n' "engine RSS after the lists" "$rss" "$hwm"
printf '%-34s %9s%%\n' "engine idle CPU over 10 s" "$idle"

# Records for make bench's report (nothing without BENCH_OUT); targets: issue 15.
# shellcheck source=scripts/benchrecord.sh
. scripts/benchrecord.sh
bench_note queue "A queue of $JOBS jobs with $((JOBS * FILES)) files; medians of $RUNS cold starts and $LRUNS lists."
bench_record case=queue metric="cold start to the first answer" tool=ferry unit=s target="value<=1" \
  value="$(printf '%s\n' "${cold[@]}" | median)"
bench_record case=queue metric="list --json" tool=ferry unit=s target="value<=0.27" \
  value="$(printf '%s\n' "${list[@]}" | median)"
bench_record case=queue metric="list --json --verbose" tool=ferry unit=s target="value<=0.5" \
  value="$(printf '%s\n' "${verbose[@]}" | median)"
bench_record case=queue metric="engine RSS after the lists" tool=ferry unit=MiB target="value<=95.4" value="$rss"
bench_record case=queue metric="engine idle CPU" tool=ferry unit=% target="value<=0.5" value="$idle"
