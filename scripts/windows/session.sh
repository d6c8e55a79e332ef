#!/usr/bin/env bash
# A CLI session of ferry.exe under Wine (called by test.sh, which sets up the
# prefix): the first command starts the engine (autostart, detached), and
# every command after it talks to that engine over its named pipe. The
# download comes from a local drive-letter path and replaces an existing
# file on complete.
set -euo pipefail
ferry=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

win() { winepath -w "$1" 2>/dev/null; }
fail() {
	echo "session: $*" >&2
	[[ -f $tmp/home/ferry.log ]] && tail -20 "$tmp/home/ferry.log" >&2
	timeout 60 "${WINE:-wine}" "$ferry" shutdown >/dev/null 2>&1 || true
	exit 1
}
# ferry prints CRLF line ends on Windows' console.
f() { timeout 120 "${WINE:-wine}" "$ferry" "$@" | tr -d '\r'; }

mkdir -p "$tmp/home" "$tmp/out"
export FERRY_HOME
FERRY_HOME=$(win "$tmp/home")
head -c $((3 << 20)) /dev/urandom >"$tmp/src.bin"
echo "an older file that complete must replace" >"$tmp/out/dst.bin"
src=$(win "$tmp/src.bin")
dst=$(win "$tmp/out/dst.bin")
echo "FERRY_HOME=$FERRY_HOME source=$src target=$dst"

id=$(f create session-test) || fail "create failed"
[[ $id =~ ^[0-9a-f-]{36}$ ]] || fail "create printed $id"
grep -q 'engine .* running' "$tmp/home/ferry.log" || fail "no engine was started"

if f addfile "$id" 'Z:relative.bin' "$dst" 2>"$tmp/err"; then fail "a relative source was accepted"; fi
grep -q E_INVALIDARG "$tmp/err" || fail "relative source: $(cat "$tmp/err")"

f addfile "$id" "$src" "$dst" >/dev/null || fail "addfile failed"
f resume "$id" >/dev/null || fail "resume failed"
state=$(f wait "$id" --timeout 60) || fail "wait: $state"
[[ $state == TRANSFERRED ]] || fail "wait printed $state"
cmp -s "$tmp/src.bin" "$tmp/out/dst.bin" && fail "the target changed before complete"
ls -a "$tmp/out" | grep -q '^\.BIT.*\.tmp$' || fail "no temporary file beside the target"
f complete "$id" >/dev/null || fail "complete failed"
cmp "$tmp/src.bin" "$tmp/out/dst.bin" || fail "the completed file differs from its source"
ls -a "$tmp/out" | grep -q '^\.BIT' && fail "a temporary file was left behind"
state=$(f getstate "$id") || true
[[ $state == ACKNOWLEDGED ]] || fail "state after complete: $state"

f shutdown >/dev/null || fail "shutdown failed"
if f list --no-autostart >/dev/null 2>&1; then fail "an engine still answers after shutdown"; fi
grep -q 'engine stopped' "$tmp/home/ferry.log" || fail "the engine did not stop cleanly"
echo "session: create, addfile, resume, wait, complete (replacing a file) and shutdown over the pipe"
