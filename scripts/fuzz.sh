#!/usr/bin/env bash
# Runs every fuzz target of the Go packages (go test -fuzz takes one target
# per run), each for FUZZTIME. make test runs it briefly; make fuzz long.
#   FUZZTIME   how long each target fuzzes (default 5s)
#   FUZZ_ONLY  a regular expression: only the targets it matches
#   FUZZ_KEEP  when 1, the inputs that found new coverage are copied into the
#              package's testdata/fuzz/TARGET (the committed seed corpus),
#              at most FUZZ_KEEP_MAX (default 40) per target
# A failing target leaves its input in testdata/fuzz/TARGET, as go test
# does: commit it with the fix, as a regression seed.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-5s}
FUZZ_ONLY=${FUZZ_ONLY:-.}
FUZZ_KEEP_MAX=${FUZZ_KEEP_MAX:-40}
export CGO_ENABLED=1
cache=$(go env GOCACHE)/fuzz
mod=$(go list -m)
failed=()
n=0
start=$SECONDS
# Every "func FuzzX(f *testing.F)" in the backend's test files.
while IFS=: read -r file name; do
	[[ $name =~ $FUZZ_ONLY ]] || continue
	pkg=./$(dirname "$file")
	n=$((n + 1))
	echo "fuzz: $pkg $name for $FUZZTIME"
	log=/tmp/ferry-fuzz-$$.log
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "${FUZZMINTIME:-10s}" "$pkg" >"$log" 2>&1; then
		if grep -q 'context deadline exceeded' "$log" &&
			! grep -qE 'Failing input written|failure while testing seed corpus|panic:|build failed|fuzz_test.go:[0-9]+:' "$log"; then
			# go test's fuzzing reports its own deadline as a failure when a
			# worker is still busy (minimising) as the time ends: no input
			# failed, so this is not one.
			echo "fuzz: $name: the time ran out while a worker was busy; no input failed"
		else
			cat "$log"
			failed+=("$pkg $name")
		fi
	else
		grep -E '^fuzz: elapsed' "$log" | tail -1 || true
	fi
	if [[ ${FUZZ_KEEP:-} == 1 ]]; then
		src=$cache/$mod/${pkg#./}/$name
		dst=$(dirname "$file")/testdata/fuzz/$name
		if [[ -d $src ]]; then
			mkdir -p "$dst"
			# The smallest inputs say the most per byte.
			ls -S -r "$src" | head -n "$FUZZ_KEEP_MAX" | while read -r f; do cp -n "$src/$f" "$dst/"; done
		fi
	fi
done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*(f \*testing\.F)' backend | sed 's/(f \*testing\.F)$//; s/:func /:/' | sort)
rm -f "/tmp/ferry-fuzz-$$.log"
echo "fuzz: $n targets, $((SECONDS - start)) s"
if ((${#failed[@]})); then
	printf 'fuzz: FAILED: %s\n' "${failed[@]}"
	exit 1
fi
