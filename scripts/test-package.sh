#!/usr/bin/env bash
# make package-test: unpacks the .deb of make package into a scratch root
# and uses it as an installed system would: the files are where they
# belong, the desktop entry validates, ferry runs without GUI libraries,
# the user unit's ExecStart starts the engine and SIGTERM (systemd's stop)
# ends it cleanly, and a short CLI session moves a file through a job.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
debs=(build/bin/ferry_*.deb)
((${#debs[@]} == 1)) || { echo "package-test: want one build/bin/ferry_*.deb (make package), found ${#debs[@]}" >&2; exit 1; }
deb=${debs[0]}
work=$(mktemp -d /tmp/ferry-package-test.XXXXXX)
svc_pid=
cleanup() {
	[[ -n $svc_pid ]] && kill "$svc_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "package-test: $*" >&2
	[[ -f $work/service.log ]] && sed 's/^/  service: /' "$work/service.log" >&2
	exit 1
}

root=$work/root
dpkg-deb -x "$deb" "$root"
for f in usr/bin/ferry usr/bin/ferry-desktop usr/share/applications/ferry.desktop \
	usr/share/icons/hicolor/scalable/apps/ferry.svg usr/share/icons/hicolor/256x256/apps/ferry.png \
	usr/lib/systemd/user/ferry.service; do
	[[ -e $root/$f ]] || fail "the package lacks /$f"
done
[[ $(dpkg-deb --field "$deb" Depends) != *gtk* ]] || fail "the package depends on GTK; ferry alone must install without it"
desktop-file-validate "$root/usr/share/applications/ferry.desktop" || fail "the desktop entry does not validate"
grep -qx 'Exec=ferry-desktop' "$root/usr/share/applications/ferry.desktop" || fail "the desktop entry does not start ferry-desktop"

ferry=$root/usr/bin/ferry
# The browsers' system-wide host manifests name /usr/bin/ferry and Ferry's extension only.
for m in etc/chromium etc/opt/chrome etc/opt/edge usr/lib/mozilla; do
	f=$root/$m/native-messaging-hosts/org.ferry.host.json
	[[ -f $f ]] || fail "the package lacks /$m/native-messaging-hosts/org.ferry.host.json"
	python3 - "$f" <<'PY' || fail "$f is not Ferry's host manifest"
import json, sys
m = json.load(open(sys.argv[1]))
allowed = m.get("allowed_origins", []) + m.get("allowed_extensions", [])
assert m["name"] == "org.ferry.host" and m["path"] == "/usr/bin/ferry" and m["type"] == "stdio", m
assert allowed in (["chrome-extension://fhhpiihgikmffhkddmangfemijhpfmbk/"], ["browser@ferry.invalid"]), allowed
assert ("mozilla" in sys.argv[1]) == ("allowed_extensions" in m), m
PY
done
! ldd "$ferry" | grep -qiE 'gtk|webkit' || fail "ferry links GTK or WebKit"
version=$("$ferry" version) || fail "ferry version failed"
[[ $version == "ferry "* ]] || fail "ferry version printed: $version"
# ferry-desktop runs (its libraries resolve) and sends commands to ferry.
set +e
msg=$("$root/usr/bin/ferry-desktop" list 2>&1)
code=$?
set -e
((code == 2)) && [[ $msg == *"ferry help"* ]] || fail "ferry-desktop list: exit $code, $msg"

# The user unit's command line, from the unpacked root, as systemd runs it.
exec_start=$(sed -n 's/^ExecStart=//p' "$root/usr/lib/systemd/user/ferry.service")
[[ $exec_start == "/usr/bin/ferry service" ]] || fail "unexpected ExecStart: $exec_start"
export FERRY_HOME=$work/home
$root$exec_start >"$work/service.log" 2>&1 &
svc_pid=$!
for _ in $(seq 100); do "$ferry" --no-autostart list >/dev/null 2>&1 && break; sleep 0.1; done
"$ferry" --no-autostart list >/dev/null || fail "the unit's engine does not answer"

# A short session: a job moves a file, byte for byte.
head -c 3000000 /dev/urandom >"$work/source.bin"
id=$("$ferry" create "package test")
"$ferry" addfile "$id" "file://$work/source.bin" "$work/copy.bin" >/dev/null
"$ferry" setpriority "$id" high >/dev/null
"$ferry" resume "$id" >/dev/null
"$ferry" wait "$id" --timeout 60 >/dev/null || fail "the job did not transfer: $("$ferry" getstate "$id")"
"$ferry" complete "$id" >/dev/null
cmp -s "$work/source.bin" "$work/copy.bin" || fail "the copy differs from its source"
[[ $("$ferry" getstate "$id") == ACKNOWLEDGED ]] || fail "the job is $("$ferry" getstate "$id"), not ACKNOWLEDGED"

# systemctl --user stop sends SIGTERM: a clean stop, exit 0.
kill -TERM "$svc_pid"
for _ in $(seq 300); do kill -0 "$svc_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$svc_pid" 2>/dev/null && fail "the engine did not stop within 30 s of SIGTERM"
set +e
wait "$svc_pid"
code=$?
set -e
svc_pid=
((code == 0)) || fail "the engine exited $code after SIGTERM"
echo "package-test: $deb ($(du -h "$deb" | cut -f1)): files, desktop entry, $version, the user unit's engine, a CLI session: ok"
