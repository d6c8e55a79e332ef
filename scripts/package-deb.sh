#!/usr/bin/env bash
# make package: a Debian package of both executables from build/bin, with a
# desktop entry, the icon, and an optional user systemd unit for the
# headless engine. Writes build/bin/ferry_VERSION_ARCH.deb and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bin
for f in ferry ferry-desktop; do
	[[ -x $bin/$f ]] || { echo "package: $bin/$f is missing (make build)" >&2; exit 1; }
done
arch=$(dpkg --print-architecture)
# Debian orders 0.1.0~dev before 0.1.0.
version=$("$bin/ferry" version --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"].replace("-", "~"))')
# The newest glibc symbol version either executable needs.
glibc=$(objdump -T "$bin/ferry" "$bin/ferry-desktop" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)

root=$(mktemp -d /tmp/ferry-deb.XXXXXX)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root"
install -Dm755 "$bin/ferry" "$root/usr/bin/ferry"
install -Dm755 "$bin/ferry-desktop" "$root/usr/bin/ferry-desktop"
install -Dm644 build/linux/ferry.desktop "$root/usr/share/applications/ferry.desktop"
install -Dm644 build/appicon.svg "$root/usr/share/icons/hicolor/scalable/apps/ferry.svg"
for size in 48 128 256; do
	mkdir -p "$root/usr/share/icons/hicolor/${size}x${size}/apps"
	convert build/appicon.png -resize "${size}x${size}" "$root/usr/share/icons/hicolor/${size}x${size}/apps/ferry.png"
done
install -Dm644 build/linux/ferry.service "$root/usr/lib/systemd/user/ferry.service"
install -Dm644 README.md "$root/usr/share/doc/ferry/README.md"
# The browsers' system-wide native messaging host manifests, as ferry itself
# writes them (ferry browser install into a scratch home), naming /usr/bin/ferry.
nm=$(mktemp -d /tmp/ferry-deb-nm.XXXXXX)
HOME=$nm XDG_CONFIG_HOME=$nm/cfg FERRY_HOME=$nm/ferry "$bin/ferry" browser install >/dev/null
for pair in chromium:/etc/chromium/native-messaging-hosts google-chrome:/etc/opt/chrome/native-messaging-hosts \
	microsoft-edge:/etc/opt/edge/native-messaging-hosts mozilla:/usr/lib/mozilla/native-messaging-hosts; do
	src=$nm/cfg/${pair%%:*}/NativeMessagingHosts/org.ferry.host.json
	[[ ${pair%%:*} == mozilla ]] && src=$nm/.mozilla/native-messaging-hosts/org.ferry.host.json
	mkdir -p "$root${pair#*:}"
	python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m["path"]="/usr/bin/ferry"; open(sys.argv[2],"w").write(json.dumps(m,indent=2)+"\n")' \
		"$src" "$root${pair#*:}/org.ferry.host.json"
	chmod 644 "$root${pair#*:}/org.ferry.host.json"
done
rm -rf "$nm"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
mkdir -p "$root/DEBIAN"
# ferry needs libc alone, so a server installs it without a desktop
# (apt-get install --no-install-recommends); ferry-desktop needs GTK 3 and
# WebKitGTK 4.1, which apt installs by default as recommendations.
cat >"$root/DEBIAN/control" <<CONTROL
Package: ferry
Version: $version
Architecture: $arch
Maintainer: Ferry <ferry@localhost>
Installed-Size: $size
Depends: libc6 (>= $glibc)
Recommends: libgtk-3-0, libwebkit2gtk-4.1-0
Section: net
Priority: optional
Description: background, prioritised, resumable transfers (BITS for Linux)
 Ferry brings the job semantics of Microsoft BITS to Linux: downloads and
 uploads run in the background by priority, resume where they stopped and
 survive crashes. ferry is the bitsadmin-style command line and the headless
 engine (ferry service, with an optional user systemd unit); ferry-desktop
 is the desktop app with a window, a tray icon and notifications.
CONTROL
rm -f "$bin"/ferry_*.deb # one package in build/bin: the one just built
out="$bin/ferry_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
