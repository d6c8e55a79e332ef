#!/usr/bin/env bash
# make test-windows: the backend's Windows test binaries, then a CLI session
# of build/bin/ferry.exe over its named pipe, all under Debian's Wine.
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
unset DISPLAY # console programs only: Wine must not open windows

# Packages whose tests run under Wine, and tests left out of them, each with
# its reason. Anything not listed here is not run: see the README.
packages=(bits clock store ops home api engine transfer uploadserver service web desktop)
declare -A skip=(
	# transfer: nginx and tinyproxy (TestNginx*, TestTinyproxy*, TestBench*)
	[transfer]='^(TestNginx|TestTinyproxy|TestBench)'
	# engine: kill -9 of a child engine (SIGKILL, the child's unix plumbing);
	# nginx and tinyproxy; notify command lines that run /bin/true and
	# /usr/bin/env; file:// URLs built from unix paths (the Windows forms are
	# transfer's TestFileDownload and TestWindowsFileURLs); FIFOs, /dev/null
	# and unix symlinks as local names (TestLocalMustBeARegularFile)
	[engine]='^(TestLocalMustBeARegularFile|TestCrashKill9MidTransfer|TestUploadEngineKill9|TestMultiFileFromNginx|TestProxyOverrideThroughTinyproxy|TestNotifyCmdLineRunsProgram|TestNotifyCmdLineRetriedAfterFailure|TestFinalJobsRefuseChanges|TestFileSourcesAndPlainPaths)$'
	# uploadserver: kill -9 of a child server; and a symlink out of the
	# upload directory, which os.Root follows under Wine 8 (whose symlinks
	# are emulated; whether real Windows refuses it is not checked here)
	[uploadserver]='^(TestServerKill9ThenResume|TestUnsafeNamesRefused)$'
	# assert unix modes (0700, 0600); Windows has ACLs: home_windows_test.go
	[home]='^(TestResolve|TestSecretBox)$'
	# asserts the quarantine copy's unix mode (0600)
	[store]='^TestUnreadableRowsAreSetAsideAndTheRestLoads$'
	# a timing bound (pushes per 120 ms) that Wine's coarser timers miss; a
	# test that dials the control socket with net.Dial("unix") itself
	[web]='^(TestCoalesceSpacing|TestEveryTransportMapsErrorsAlike)$'
)
not_run="cli (drives the unix build with signals, flock and setsid: the CLI session below is its Windows counterpart), cmd/ferry (go list and the unix build), internal/* (test helpers)"

step() { printf '\n== %s\n' "$*"; }
cleanup() { wineserver -k 2>/dev/null || true; }
trap cleanup EXIT

step "Wine prefix $WINEPREFIX"
t0=$SECONDS
if [[ ! -f $WINEPREFIX/system.reg ]]; then
	wineboot -i >/dev/null 2>&1 || true
fi
# One server for all the runs below, gone 30 s after the last (an already
# running one answers "in use" here, and serves as well).
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

step "build the test binaries"
t0=$SECONDS
go test -overlay "$overlay" -c -o "$out/" "${packages[@]/#/./backend/}"
go build -overlay "$overlay" -trimpath -o "$out/ferry.exe" ./cmd/ferry
echo "built in $((SECONDS - t0)) s"

failed=()
for p in "${packages[@]}"; do
	step "backend/$p${skip[$p]:+ (skipping ${skip[$p]})}"
	args=(-test.timeout 240s)
	[[ -n ${skip[$p]:-} ]] && args+=(-test.skip "${skip[$p]}")
	t0=$SECONDS
	# Test binaries run in their package's directory, as go test does.
	if (cd "backend/$p" && timeout 300 "$WINE" "$out/$p.test.exe" "${args[@]}" >"$out/$p.log" 2>&1); then
		echo "ok   backend/$p $((SECONDS - t0)) s"
	else
		echo "FAIL backend/$p $((SECONDS - t0)) s"
		tail -40 "$out/$p.log"
		failed+=("$p")
	fi
done

step "CLI session: ferry.exe over its named pipe"
t0=$SECONDS
if scripts/windows/session.sh "$out/ferry.exe"; then
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
