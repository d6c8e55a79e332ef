#!/usr/bin/env bash
# make bench-cli: what one command costs. `ferry getstate JOB` against a
# running engine and a trivial Go program in one hyperfine run (all runs of
# one, then all of the other: on a busy machine the load may differ between
# them; cmd/ferry's latency test interleaves), their peak memory (GNU
# time), the shared libraries ferry loads, and how fast a loop of
# `ferry create` fills a queue. Under make bench (BENCH_OUT set) it also
# writes the figures as records of the case "cli" (format: scripts/bench.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/benchrecord.sh
. scripts/benchrecord.sh
RUNS=${BENCH_RUNS:-100}
JOBS=${BENCH_JOBS:-1000}
FERRY=${FERRY:-build/bin/ferry}
FERRY=$(realpath "$FERRY")
for tool in hyperfine /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench-cli: $tool is missing (make deps)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/ferry-bench-cli.XXXXXX)
export FERRY_HOME=$work/home
cleanup() {
	"$FERRY" shutdown >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/trivial"
printf 'module trivial\n\ngo 1.26\n' >"$work/trivial/go.mod"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("SUSPENDED") }\n' >"$work/trivial/main.go"
(cd "$work/trivial" && go build -o "$work/trivial-bin" .)

"$FERRY" service >"$work/service.log" 2>&1 &
for _ in $(seq 100); do "$FERRY" --no-autostart list >/dev/null 2>&1 && break; sleep 0.1; done
id=$("$FERRY" create bench)

hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/h.json" \
	--command-name "ferry getstate" "$FERRY getstate $id" \
	--command-name "trivial Go program" "$work/trivial-bin" >/dev/null

rss() {
	local max=0 kib
	for _ in 1 2 3 4 5; do
		/usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null
		kib=$(cat "$work/rss")
		((kib > max)) && max=$kib
	done
	echo "$max"
}
ferry_rss=$(rss "$FERRY" getstate "$id")
triv_rss=$(rss "$work/trivial-bin")

echo "CLI cost ($RUNS runs each; load average $(cut -d' ' -f1-3 /proc/loadavg)):"
python3 - "$work/h.json" "$ferry_rss" "$triv_rss" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
rss = [int(sys.argv[2]), int(sys.argv[3])]
print("| command | median | mean | fastest | CPU (user+sys) | peak RSS |")
print("|---|---|---|---|---|---|")
for r, k in zip(res, rss):
    print(f"| {r['command']} | {r['median']*1e3:.1f} ms | {r['mean']*1e3:.1f} ms | {r['min']*1e3:.1f} ms | "
          f"{(r['user']+r['system'])*1e3:.1f} ms | {k/1024:.1f} MiB |")
f, t = res
print(f"ferry getstate / trivial: {f['median']/t['median']:.2f}x the median wall time, "
      f"{f['min']/t['min']:.2f}x the fastest, {(f['user']+f['system'])/(t['user']+t['system']):.2f}x the CPU")
PY
libs=$(ldd "$FERRY" | grep -c '=>' || true)
echo "shared libraries ferry loads: $libs ($(ldd "$FERRY" | awk '/=>/ {print $1}' | tr '\n' ' '))"
if ldd "$FERRY" | grep -qiE 'gtk|webkit'; then echo "bench-cli: ferry links GTK or WebKit" >&2; exit 1; fi

"$FERRY" config set maxJobsPerUser $((JOBS + 10)) >/dev/null
"$FERRY" config set maxJobsPerMachine $((JOBS + 10)) >/dev/null
start=$(date +%s.%N)
for i in $(seq 0 $((JOBS - 1))); do "$FERRY" create "q$i" >/dev/null; done
end=$(date +%s.%N)
python3 -c "import sys; n, s = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f'a loop of {n} ferry create: {s:.1f} s, {n/s:.0f} jobs a second')" "$JOBS" "$start" "$end"

# The records: milliseconds of the hyperfine runs, MiB of the peak RSS.
read -r f_med f_min f_cpu t_med t_min t_cpu < <(python3 - "$work/h.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
print(" ".join(f"{v * 1e3:.3f}" for r in res for v in (r["median"], r["min"], r["user"] + r["system"])))
PY
)
c=cli t="trivial Go program"
bench_note $c "\`ferry getstate JOB\` against a running engine and a trivial Go program that prints one line: hyperfine, $RUNS runs each (all of one, then all of the other), peak RSS the largest of 5 runs (GNU time); then a loop of $JOBS \`ferry create\`."
for m in "median wall time:$f_med:$t_med" "fastest wall time:$f_min:$t_min" "CPU time (user+sys):$f_cpu:$t_cpu"; do
	IFS=: read -r metric fv tv <<<"$m"
	target=()
	# Issue 9: one command at most 3x the trivial program's time.
	if [ "$metric" = "median wall time" ]; then target=("target=ratio<=3"); fi
	bench_record case=$c metric="getstate, $metric" tool="$t" value="$tv" unit=ms
	bench_record case=$c metric="getstate, $metric" tool=ferry value="$fv" unit=ms vs="$t" "${target[@]}"
done
bench_record case=$c metric="getstate, peak RSS" tool="$t" value="$(awk -v k="$triv_rss" 'BEGIN{printf "%.1f", k/1024}')" unit=MiB
# cmd/ferry's TestGetstateLatencyAndMemory holds the same bound.
bench_record case=$c metric="getstate, peak RSS" tool=ferry value="$(awk -v k="$ferry_rss" 'BEGIN{printf "%.1f", k/1024}')" unit=MiB \
	vs="$t" target="value<=20"
bench_record case=$c metric="shared libraries" tool=ferry value="$libs" unit=""
bench_record case=$c metric="a loop of ferry create" tool=ferry unit="jobs/s" \
	value="$(awk -v n="$JOBS" -v s="$start" -v e="$end" 'BEGIN{printf "%.0f", n/(e-s)}')"
