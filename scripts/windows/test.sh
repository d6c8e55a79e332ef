#!/usr/bin/env bash
# make test-windows: the executables that make build-windows made, the Windows
# test binaries, then a CLI session of build/bin/ferry.exe over its named
# pipe, all under Debian's Wine, in a private virtual X display: Wine's
# explorer draws its taskbar there, which the tray's tests put their icon in.
#
# Wine 8 (Debian 12) lacks two things that Go 1.26 programs use, and both are
# supplied here for the tests only; a real Windows has them:
#   - bcryptprimitives.dll!ProcessPrng (the runtime's random source): a
#     12 KiB DLL built from bcryptprimitives.c over BCryptGenRandom goes into
#     the prefix's system32.
#   - FileDispositionInformationEx (os.RemoveAll, hence every t.TempDir()):
#     Wine answers STATUS_NOT_IMPLEMENTED, which Go does not treat as "fall
#     back to the old call". A -overlay copy of internal/syscall/windows's
#     at_windows.go adds that status to the fallback list.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/windows-test
mkdir -p "$out"

export WINEPREFIX=${WINEPREFIX:-$root/.wine}
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko prompts
# The 64-bit loader itself: the `wine` wrapper nags about a missing wine32.
export WINE=${WINE:-/usr/lib/wine/wine64}
PATH=/usr/lib/wine:$PATH
export GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc

# Packages whose tests run under Wine, and tests left out of them, each with
# its reason. Anything not listed here is not run: see the README. "." is
# ferry-desktop's own package (the App and its shell: tray, notifier, single
# instance; everything but the WebView2 window).
packages=(backend/bits backend/clock backend/store backend/ops backend/home backend/api backend/engine
	backend/transfer backend/uploadserver backend/service backend/web backend/desktop backend/desktop/tray
	backend/internal/localsock backend/internal/durable backend/browser backend/browser/manifests .)
declare -A skip=(
	# transfer: nginx and tinyproxy (TestNginx*, TestTinyproxy*, TestAutodetect*, TestBench*)
	[backend/transfer]='^(TestNginx|TestTinyproxy|TestAutodetect|TestBench)'
	# engine: kill -9 of a child engine (SIGKILL, the child's unix plumbing);
	# nginx and tinyproxy; notify command lines that run /bin/true and
	# /usr/bin/env; file:// URLs built from unix paths (the Windows forms are
	# transfer's TestFileDownload and TestWindowsFileURLs); FIFOs, /dev/null
	# and unix symlinks as local names (TestLocalMustBeARegularFile); a
	# notify program that is a /bin/sh script (TestNotifyCmdLineRunsNoShell);
	# reply URLs built from unix paths (TestReplyURLMustBeHTTP)
	[backend/engine]='^(TestNotifyCmdLineRunsNoShell|TestReplyURLMustBeHTTP|TestLocalMustBeARegularFile|TestCrashKill9MidTransfer|TestCrashKill9MidSegmentedTransfer|TestUploadEngineKill9|TestCrashLoopResendsLittle|TestCrashLoopSegmentsResendLittle|TestCrashLoopWithoutHints|TestCrashHintTrustedOnlyInItsBoot|TestMultiFileFromNginx|TestProxyOverrideThroughTinyproxy|TestNotifyCmdLineRunsProgram|TestNotifyCmdLineRetriedAfterFailure|TestFinalJobsRefuseChanges|TestFileSourcesAndPlainPaths)$'
	# uploadserver: kill -9 of a child server; and a symlink out of the
	# upload directory, which os.Root follows under Wine 8 (whose symlinks
	# are emulated; whether real Windows refuses it is not checked here)
	# The S3 store's tests need SeaweedFS, built for Linux only
	# (TestEmptySessionFlood runs on both stores; its local half runs on Linux).
	[backend/uploadserver]='^(TestServerKill9ThenResume|TestUnsafeNamesRefused|TestProtocolOnS3|TestInstancesShareSessions|TestEmptySessionFlood|TestExpiryOnS3|TestHealthAndMetricsOnS3)$'
	# assert unix modes (0700, 0600); Windows has ACLs: home_windows_test.go
	[backend/home]='^(TestResolve|TestSecretBox)$'
	# asserts the quarantine copy's unix mode (0600)
	[backend/store]='^TestUnreadableRowsAreSetAsideAndTheRestLoads$'
	# a timing bound (pushes per 120 ms) that Wine's coarser timers miss
	[backend/web]='^TestCoalesceSpacing$'
	# 20,000 calls take 40 s through Wine's named pipes (make load runs them
	# on Linux; under Wine they passed: p50 74 ms, p99 256 ms)
	[backend/api]='^TestLoadManyClientsWhileJobsTransfer$'
)
not_run="backend/cli (drives the unix build with signals, flock and setsid: the CLI session above is its Windows counterpart), cmd/ferry (go list and the unix build), backend/internal/testenv and backend/internal/testsrv (test helpers)"

step() { printf '\n== %s\n' "$*"; }
xvfb=
cleanup() {
	wineserver -k 2>/dev/null || true
	[[ -n $xvfb ]] && kill "$xvfb" 2>/dev/null || true
}
trap cleanup EXIT

step "Wine prefix $WINEPREFIX"
t0=$SECONDS
# A fresh Wine session: its explorer starts on the display set below.
wineserver -k 2>/dev/null || true
display=$out/xvfb.display
: >"$display"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$display" 2>/dev/null &
xvfb=$!
for _ in $(seq 100); do [[ -s $display ]] && break; sleep 0.1; done
[[ -s $display ]] || { echo "test-windows: Xvfb did not start" >&2; exit 1; }
export DISPLAY=:$(head -1 "$display")
if [[ ! -f $WINEPREFIX/system.reg ]]; then
	wineboot -i >/dev/null 2>&1 || true
fi
# A crashing test binary must fail its run, not wait on a dialog nobody sees.
"$WINE" reg add 'HKCU\Software\Wine\WineDbg' /v ShowCrashDialog /t REG_DWORD /d 0 /f >/dev/null 2>&1 || true
# One server for all the runs below, gone 30 s after the last.
wineserver -p 30 2>/dev/null || true
sys32=$WINEPREFIX/drive_c/windows/system32
dll=$sys32/bcryptprimitives.dll
if [[ ! -f $dll || scripts/windows/bcryptprimitives.c -nt $dll ]]; then
	x86_64-w64-mingw32-gcc -shared -O2 -s -o "$dll" scripts/windows/bcryptprimitives.c -lbcrypt
fi
echo "ready in $((SECONDS - t0)) s"

overlay=$out/overlay.json
at=$(go env GOROOT)/src/internal/syscall/windows/at_windows.go
patched=$out/at_windows.go.overlay # not .go: gofmt and ./... would find it
sed 's|^\tcase STATUS_INVALID_INFO_CLASS, // the operating system|\tcase NTStatus(0xC0000002), // STATUS_NOT_IMPLEMENTED (Wine)\n\t\tSTATUS_INVALID_INFO_CLASS, // the operating system|' "$at" >"$patched"
grep -q 0xC0000002 "$patched" || { echo "test-windows: could not patch $at for Wine" >&2; exit 1; }
printf '{"Replace":{"%s":"%s"}}\n' "$at" "$patched" >"$overlay"

step "the executables: build/bin/ferry.exe and ferry-desktop.exe (make build-windows)"
# Their subsystems, and the resources go build linked from the .syso files
# of make windows-res: the icon Wails' window loads (group #3), and a
# manifest that makes the window per-monitor DPI aware with the common
# controls v6 (without one Windows scales the window as a blurred bitmap).
winres=${GOWINRES:-go-winres} # make test-windows passes the pinned one
command -v "$winres" >/dev/null || { echo "test-windows: $winres is missing (run make test-windows)" >&2; exit 1; }
exes_ok=true
bad() { echo "FAIL executables: $*" >&2; exes_ok=false; }
file build/bin/ferry.exe | grep -q 'PE32+ executable (console)' || bad "ferry.exe is not a console program"
file build/bin/ferry-desktop.exe | grep -q 'PE32+ executable (GUI)' || bad "ferry-desktop.exe is not a GUI program"
for exe in ferry ferry-desktop; do
	res=$out/res-$exe
	rm -rf "$res"
	"$winres" extract --dir "$res" "build/bin/$exe.exe" >/dev/null
	grep -q '"#3"' "$res/winres.json" || bad "$exe.exe has no icon #3"
	grep -q '"long-path-aware": true' "$res/winres.json" || bad "$exe.exe is not long-path aware"
	grep -q "\"OriginalFilename\": \"$exe.exe\"" "$res/winres.json" || bad "$exe.exe has no version information"
done
grep -q '"dpi-awareness": "per monitor v2"' "$out/res-ferry-desktop/winres.json" || bad "ferry-desktop.exe is not per-monitor DPI aware"
grep -q '"use-common-controls-v6": true' "$out/res-ferry-desktop/winres.json" || bad "ferry-desktop.exe lacks the common controls v6"
$exes_ok && echo "ok   console ferry.exe, GUI ferry-desktop.exe, with icon, manifest and version"

step "build the test binaries"
t0=$SECONDS
go test -overlay "$overlay" -c -o "$out/" "${packages[@]/#/./}"
echo "built in $((SECONDS - t0)) s"

failed=()
$exes_ok || failed+=(executables)
for p in "${packages[@]}"; do
	# go test -c names a binary after its import path: the module's is ferry.
	bin=${p##*/}
	[[ $p == . ]] && bin=ferry
	step "$p${skip[$p]:+ (skipping ${skip[$p]})}"
	args=(-test.timeout 240s)
	[[ -n ${skip[$p]:-} ]] && args+=(-test.skip "${skip[$p]}")
	t0=$SECONDS
	# Test binaries run in their package's directory, as go test does.
	if (cd "$p" && timeout 300 "$WINE" "$out/$bin.test.exe" "${args[@]}" >"$out/$bin.log" 2>&1); then
		echo "ok   $p $((SECONDS - t0)) s"
	else
		echo "FAIL $p $((SECONDS - t0)) s"
		tail -40 "$out/$bin.log"
		failed+=("$p")
	fi
done

step "CLI session: ferry.exe over its named pipe"
t0=$SECONDS
if scripts/windows/session.sh build/bin/ferry.exe; then
	echo "ok   CLI session $((SECONDS - t0)) s"
else
	echo "FAIL CLI session"
	failed+=(cli-session)
fi

step "not run under Wine: $not_run"
if ((${#failed[@]})); then
	echo "test-windows: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "test-windows: all passed (${#packages[@]} packages, CLI session)"
