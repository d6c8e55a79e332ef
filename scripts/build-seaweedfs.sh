#!/usr/bin/env bash
# Builds SeaweedFS' `weed` (the S3 gateway the fleet upload tests run) into
# $1 from the Go module proxy. `go install` refuses the module's replace
# directives, so the module is downloaded and built inside a writable copy
# of it, with its own go.mod.
set -euo pipefail
out=$1 version=$2
GO=${GO:-go}
mod=github.com/seaweedfs/seaweedfs@$version
src=$(GOFLAGS=-mod=mod $GO mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d $src ]] || { echo "build-seaweedfs: $mod was not downloaded" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-weed-build.XXXXXX")
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$src/." "$work/"
chmod -R u+w "$work"
mkdir -p "$(dirname "$out")"
start=$SECONDS
# CGO off: a static gateway, no C toolchain needed; the module's own go.mod
# (not the caller's) decides its dependencies.
(cd "$work" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 nice $GO build -trimpath -o "$out.tmp" ./weed)
mv "$out.tmp" "$out"
echo "build-seaweedfs: $out built in $((SECONDS - start)) s"
