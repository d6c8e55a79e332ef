#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet,
# and checks the toolchains that Debian 12 does not ship (Go 1.26, Node 20.19+).
# It touches apt only when something is missing, so it is quick to re-run.
set -euo pipefail

missing=()
for p in "$@"; do
	# dpkg -s succeeds for removed packages that left config files; ask for the real status.
	if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]]; then
		missing+=("$p")
	fi
done

if ((${#missing[@]})); then
	sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	echo "apt: installing ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

fail() {
	echo "deps: $*" >&2
	exit 1
}
command -v go >/dev/null || fail "Go 1.26 or newer is required (https://go.dev/dl/)"
command -v node >/dev/null && command -v npm >/dev/null || fail "Node.js 20.19 or newer with npm is required"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
	fail "Node.js 20.19 or newer is required (Vite 7), found $(node --version)"
