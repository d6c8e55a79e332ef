#!/usr/bin/env bash
# make bench-window (Linux): what the desktop window costs to keep open.
# build/bin/ferry-desktop (from make build; nothing is built here but the
# test's fake panel) runs under Xvfb with a private D-Bus session, on a
# private FERRY_HOME holding BENCH_JOBS jobs made through build/bin/ferry
# (its headless engine, which the window then takes over). Once the window
# has drawn the list, the script sums PSS and RSS (/proc/PID/smaps_rollup)
# over the process tree (ferry-desktop, WebKitWebProcess,
# WebKitNetworkProcess and whatever else it started) and its CPU over
# BENCH_IDLE_SECONDS of idling (utime+stime from /proc/PID/stat). Then it
# closes the window, which hides it to the tray (e2e/fakedesktop plays the
# panel), and measures again; then shows it through the tray's menu and
# checks that it draws.
#
# Human lines on stdout; with BENCH_OUT set, JSON lines appended to that
# file: {"case":"window","metric":"pss_mb"|"rss_mb"|"idle_cpu_pct",
# "tool":"ferry","value":N,"unit":"MB"|"%","target":"value<=N"} (the hidden window:
# case "window-hidden").
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${BENCH_JOBS:-1000}
IDLE=${BENCH_IDLE_SECONDS:-10}
SETTLE=${BENCH_SETTLE_SECONDS:-10}
FERRY=$(realpath "${FERRY:-build/bin/ferry}")
DESKTOP=$(realpath "${FERRY_DESKTOP:-$(dirname "$FERRY")/ferry-desktop}")
PSS_TARGET=150
CPU_TARGET=1
for f in "$FERRY" "$DESKTOP"; do
	[[ -x $f ]] || { echo "bench-window: $f is missing (make build)" >&2; exit 1; }
done
for tool in Xvfb dbus-daemon import identify xwininfo python3 go; do
	command -v "$tool" >/dev/null || { echo "bench-window: $tool is missing (make deps)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/ferry-bench-window.XXXXXX)
export FERRY_HOME=$work/home
pids=()
cleanup() {
	"$FERRY" --no-autostart shutdown >/dev/null 2>&1 || true
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	exec 7>&- 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# The session: an X server and a bus of our own (as e2e/lib/desktop.mjs).
Xvfb -displayfd 5 -screen 0 1100x700x24 -nolisten tcp -noreset 5>"$work/display" 2>"$work/xvfb.log" &
pids+=($!)
for _ in $(seq 150); do [[ -s $work/display ]] && break; sleep 0.1; done
export DISPLAY=:$(head -1 "$work/display")
mkdir -p "$work/bus" "$work/xdg"
chmod 700 "$work/xdg"
cat >"$work/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile --print-address=1 >"$work/bus.addr" 2>"$work/bus.log" &
pids+=($!)
for _ in $(seq 150); do [[ -s $work/bus.addr ]] && break; sleep 0.1; done
export DBUS_SESSION_BUS_ADDRESS=$(head -1 "$work/bus.addr")
export NO_AT_BRIDGE=1 XDG_RUNTIME_DIR=$work/xdg

# The panel (a StatusNotifierWatcher), so that closing the window hides it.
CGO_ENABLED=0 go build -o "$work/fakedesktop" ./e2e/fakedesktop
mkfifo "$work/panel.in"
"$work/fakedesktop" <"$work/panel.in" >"$work/panel.out" 2>&1 &
pids+=($!)
exec 7>"$work/panel.in"
for _ in $(seq 100); do grep -q '"ready"' "$work/panel.out" && break; sleep 0.1; done

# The jobs, through the headless engine that the first command starts.
"$FERRY" config set maxJobsPerUser $((JOBS + 10)) >/dev/null
"$FERRY" config set maxJobsPerMachine $((JOBS + 10)) >/dev/null
t0=$(date +%s.%N)
# Four at a time: the engine serialises them anyway, the wait is the processes'.
seq -f 'Bench job %g' "$JOBS" | xargs -P 4 -d '\n' -n 1 "$FERRY" create >/dev/null
echo "bench-window: $JOBS jobs made in $(python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)") s"

"$DESKTOP" >"$work/desktop.log" 2>&1 &
desktop=$!
pids+=("$desktop")

# drawn: the screen is far from blank (as e2e's window test decides).
drawn() {
	import -display "$DISPLAY" -window root "$work/shot.png" 2>/dev/null || return 1
	read -r dev colours < <(identify -format '%[fx:standard_deviation] %k' "$work/shot.png")
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.03 and int(sys.argv[2]) > 64 else 1)" "$dev" "$colours"
}
wait_drawn() {
	local t=$(($(date +%s) + 60))
	until drawn; do
		(($(date +%s) < t)) || { echo "bench-window: the window did not draw within 60 s" >&2; cat "$work/desktop.log" >&2; exit 1; }
		kill -0 "$desktop" 2>/dev/null || { echo "bench-window: ferry-desktop exited" >&2; cat "$work/desktop.log" >&2; exit 1; }
		sleep 1
	done
}
t0=$(date +%s.%N)
wait_drawn
echo "bench-window: the window drew its list $(python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)") s after it started"
# The page's own list: every job is in the window's engine.
n=$("$FERRY" --no-autostart list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[[ $n == "$JOBS" ]] || { echo "bench-window: the window's engine has $n jobs, want $JOBS" >&2; exit 1; }

# measure CASE: PSS and RSS of the tree, then its CPU over IDLE seconds.
measure() {
	python3 - "$desktop" "$IDLE" "$1" "$PSS_TARGET" "$CPU_TARGET" "${BENCH_OUT:-}" <<'PY'
import json, os, sys, time
root, idle, case, pss_target, cpu_target, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]

def tree():
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(p))
    pids, todo = [], [root]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(kids.get(p, []))
    return pids

def name(p):
    try:
        return open(f"/proc/{p}/comm").read().strip()
    except OSError:
        return "?"

def mem(p):
    m = {}
    try:
        for line in open(f"/proc/{p}/smaps_rollup"):
            k, _, rest = line.partition(":")
            if k in ("Rss", "Pss"):
                m[k] = int(rest.split()[0])  # kB
    except OSError:
        pass
    return m.get("Pss", 0), m.get("Rss", 0)

def cpu(p):
    try:
        stat = open(f"/proc/{p}/stat").read()
    except OSError:
        return 0
    f = stat[stat.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])  # utime + stime, in clock ticks

pids = tree()
# PSS divides a shared page among every process that maps it: another
# WebKit or GTK program on the machine makes the tree look smaller.
others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in pids and name(p).startswith(("WebKit", "ferry-desktop"))]
if others:
    print(f"  warning: {len(others)} other WebKit processes run on this machine; their shared pages lower this PSS")
rows = [(p, name(p), *mem(p)) for p in pids]
pss = sum(r[2] for r in rows) / 1024
rss = sum(r[3] for r in rows) / 1024
for p, n, ps, rs in rows:
    print(f"  {n:<22} pid {p:<7} PSS {ps/1024:7.1f} MB  RSS {rs/1024:7.1f} MB")
c0 = {p: cpu(p) for p in pids}
t0 = time.monotonic()
time.sleep(idle)
dt = time.monotonic() - t0
ticks = sum(cpu(p) - c0[p] for p in pids)
pct = 100 * ticks / os.sysconf("SC_CLK_TCK") / dt
print(f"{case}: tree PSS {pss:.1f} MB (target <= {pss_target:g}), RSS {rss:.1f} MB, idle CPU {pct:.2f} % of one core over {dt:.0f} s (target < {cpu_target:g})")
if out:
    with open(out, "a") as f:
        for metric, value, unit, target in (("pss_mb", pss, "MB", pss_target), ("rss_mb", rss, "MB", None),
                                            ("idle_cpu_pct", pct, "%", cpu_target)):
            rec = {"case": case, "metric": metric, "tool": "ferry", "value": round(value, 2), "unit": unit}
            if target is not None:
                rec["target"] = f"value<={target:g}"  # make bench's record format (scripts/bench.sh)
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
PY
}

sleep "$SETTLE"
echo "The window open, $JOBS jobs (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
measure window

# Close the window as a window manager would (WM_DELETE_WINDOW): it hides to the tray.
win=$(xwininfo -root -tree | awk '/"Ferry": \(/ {print $1; exit}')
[[ -n $win ]] || { echo "bench-window: no window named Ferry" >&2; xwininfo -root -tree >&2; exit 1; }
python3 e2e/lib/wm-close.py "$win"
hidden=
for _ in $(seq 50); do
	if xwininfo -id "$win" 2>/dev/null | grep -q 'IsUnMapped'; then hidden=1; break; fi
	sleep 0.1
done
[[ -n $hidden ]] || { echo "bench-window: closing the window did not hide it" >&2; exit 1; }
kill -0 "$desktop" || { echo "bench-window: closing the window ended ferry-desktop (no tray?)" >&2; exit 1; }
# The window gives up its page after 10 s in the tray (app.go, releaseAfter).
sleep $((SETTLE + 10))
echo "The window hidden to the tray:"
measure window-hidden

# Show Ferry from the tray's menu: the window must draw its list again.
echo "click Show Ferry" >&7
for _ in $(seq 50); do
	xwininfo -id "$win" 2>/dev/null | grep -q 'IsViewable' && break
	sleep 0.1
done
t0=$(date +%s.%N)
wait_drawn
echo "bench-window: shown again from the tray, drawn within $(python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)") s"
"$FERRY" --no-autostart shutdown >/dev/null
for _ in $(seq 100); do kill -0 "$desktop" 2>/dev/null || break; sleep 0.1; done
