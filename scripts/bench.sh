#!/usr/bin/env bash
# make bench: loopback downloads from a real nginx by curl, aria2c and Ferry,
# in one run, reporting wall time, CPU time and Ferry's ratios.
#   big:   one 1 GiB file (BENCH_SIZE_MIB).
#   small: 2,000 files of 16 KiB (BENCH_FILES, BENCH_FILE_KIB) in one job: curl
#          in one process over one kept-alive connection (a config file of
#          url/output pairs), aria2c -i with a list, Ferry as create,
#          addfileset, resume, wait, complete.
#   upload: one 256 MiB file (BENCH_UPLOAD_MIB) uploaded by a Ferry upload job
#          to `ferry serve-uploads` on loopback (BITS upload protocol, every
#          fragment fsynced before its Ack), next to curl downloading the same
#          file from nginx in the same run (curl and aria2c do not speak BITS).
#   queue: scripts/bench-queue.sh, a queue of 10,000 jobs with 100,000 files.
# Ferry's CPU is the engine's (the service process does the transfer) plus
# the client's (for upload also the server's). BENCH_CASES picks the cases
# ("big small upload queue" by default).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
FILES=${BENCH_FILES:-2000}
FILE_KIB=${BENCH_FILE_KIB:-16}
RUNS=${BENCH_RUNS:-3}
CASES=${BENCH_CASES:-big small upload queue}
UPLOAD_MIB=${BENCH_UPLOAD_MIB:-256}
FERRY=${FERRY:-build/bin/ferry}
[ -x "$FERRY" ] || { echo "bench: $FERRY is missing (make build)" >&2; exit 1; }
work=$(mktemp -d /tmp/ferry-bench.XXXXXX)
cleanup() {
  [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null || true
  FERRY_HOME=$work/home "$FERRY" --no-autostart shutdown >/dev/null 2>&1 || true
  [ -n "${svc:-}" ] && wait "$svc" 2>/dev/null || true
  [ -n "${up_pid:-}" ] && kill "$up_pid" 2>/dev/null && wait "$up_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www" "$work/out" "$work/home" "$work/nginx"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$port; root $work/www; }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/" -r 0-0 --head 2>/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"

export FERRY_HOME=$work/home
"$FERRY" service >"$work/service.log" 2>&1 &
svc=$!
for _ in $(seq 100); do "$FERRY" --no-autostart list >/dev/null 2>&1 && break; sleep 0.1; done
tck=$(getconf CLK_TCK)
proc_cpu() { awk -v t="$tck" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat"; }

# measure NAME CMD...: prints "wall cpu" of the command (its children
# included; for ferry also the engine process's CPU, which does the transfer).
measure() {
  local name=$1; shift
  local s0 e0 t
  s0=$(proc_cpu "$svc")
  if [ -n "${up_pid:-}" ]; then s0=$(awk -v a="$s0" -v b="$(proc_cpu "$up_pid")" 'BEGIN{print a+b}'); fi
  TIMEFORMAT="%R %U %S"
  t=$( { time "$@" >/dev/null 2>"$work/err"; } 2>&1 ) || { echo "$name failed:" >&2; cat "$work/err" >&2; exit 1; }
  e0=$(proc_cpu "$svc")
  if [ -n "${up_pid:-}" ]; then e0=$(awk -v a="$e0" -v b="$(proc_cpu "$up_pid")" 'BEGIN{print a+b}'); fi
  awk -v t="$t" -v s="$s0" -v e="$e0" -v n="$name" 'BEGIN{split(t,a," "); extra=(n=="ferry")?(e-s):0; printf "%.3f %.3f\n", a[1], a[2]+a[3]+extra}'
}

# best TOOL "wall cpu": keeps the fastest run of TOOL.
declare -A wall cpu
best() {
  set -- "$1" $2
  if [ -z "${wall[$1]:-}" ] || awk -v a="$2" -v b="${wall[$1]}" 'BEGIN{exit !(a<b)}'; then wall[$1]=$2; cpu[$1]=$3; fi
}

# report TITLE UNIT SCALE: the table (UNIT/s = SCALE / wall) and the ratios.
report() {
  printf '\n%s, best of %s runs\n' "$1" "$RUNS"
  printf '%-8s %10s %10s %12s\n' tool wall_s cpu_s "$2/s"
  local tool tools=${4:-curl aria2c ferry}
  for tool in $tools; do
    awk -v n="$tool" -v w="${wall[$tool]}" -v c="${cpu[$tool]}" -v s="$3" 'BEGIN{printf "%-8s %10.3f %10.3f %12.1f\n", n, w, c, s/w}'
  done
  if [ -z "${wall[aria2c]:-}" ]; then
    awk -v f="${wall[ferry]}" -v c="${wall[curl]}" -v fc="${cpu[ferry]}" -v cc="${cpu[curl]}" \
      'BEGIN{printf "ferry/curl: wall %.2fx cpu %.2fx\n", f/c, fc/cc}'
  else
    awk -v f="${wall[ferry]}" -v c="${wall[curl]}" -v a="${wall[aria2c]}" -v fc="${cpu[ferry]}" -v cc="${cpu[curl]}" -v ac="${cpu[aria2c]}" \
      'BEGIN{printf "ferry/curl: wall %.2fx cpu %.2fx   ferry/aria2c: wall %.2fx cpu %.2fx\n", f/c, fc/cc, f/a, fc/ac}'
  fi
  wall=() cpu=()
}

bench_big() {
  head -c $((SIZE_MIB << 20)) /dev/urandom >"$work/www/big.bin"
  local want url=$base/big.bin r got
  want=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)
  for tool in curl aria2c ferry; do
    for _ in $(seq "$RUNS"); do
      rm -f "$work/out/$tool"
      case $tool in
        curl) r=$(measure curl curl -sS -o "$work/out/curl" "$url") ;;
        aria2c) r=$(measure aria2c aria2c -q --allow-overwrite=true --file-allocation=none -d "$work/out" -o aria2c "$url") ;;
        ferry) r=$(measure ferry "$FERRY" transfer --name bench "$url" "$work/out/ferry") ;;
      esac
      got=$(sha256sum "$work/out/$tool" | cut -d' ' -f1)
      [ "$got" = "$want" ] || { echo "$tool: SHA-256 mismatch" >&2; exit 1; }
      best "$tool" "$r"
    done
  done
  rm -f "$work/www/big.bin" "$work/out/"*
  report "$SIZE_MIB MiB over loopback from nginx" MiB "$SIZE_MIB"
}

# ferry_small DIR: one job of every small file, as a script would drive it.
ferry_small() {
  local id
  id=$("$FERRY" create small)
  "$FERRY" setpriority "$id" foreground
  "$FERRY" addfileset "$id" "$1.list"
  "$FERRY" resume "$id"
  "$FERRY" wait "$id" --timeout 600
  "$FERRY" complete "$id"
}

bench_small() {
  local src=$work/www/small i name r
  mkdir -p "$src"
  head -c $((FILES * FILE_KIB << 10)) /dev/urandom | split -b $((FILE_KIB << 10)) -a 5 -d - "$src/f"
  (cd "$src" && sha256sum f* >"$work/small.sha256")
  "$FERRY" config set maxFilesPerJob "$FILES" >/dev/null
  for tool in curl aria2c ferry; do
    local out=$work/out/$tool
    : >"$out.list"
    for name in $(cd "$src" && ls); do
      case $tool in
        curl) printf 'url = "%s/small/%s"\noutput = "%s/%s"\n' "$base" "$name" "$out" "$name" ;;
        aria2c) printf '%s/small/%s\n  out=%s\n' "$base" "$name" "$name" ;;
        ferry) printf '%s/small/%s %s/%s\n' "$base" "$name" "$out" "$name" ;;
      esac >>"$out.list"
    done
    for i in $(seq "$RUNS"); do
      rm -rf "$out" && mkdir -p "$out"
      case $tool in
        curl) r=$(measure curl curl -sS -K "$out.list") ;;
        aria2c) r=$(measure aria2c aria2c -q --allow-overwrite=true --file-allocation=none -d "$out" -i "$out.list") ;;
        ferry) r=$(measure ferry ferry_small "$out") ;;
      esac
      (cd "$out" && sha256sum --quiet -c "$work/small.sha256") || { echo "$tool: SHA-256 mismatch (run $i)" >&2; exit 1; }
      best "$tool" "$r"
    done
    rm -rf "$out"
  done
  report "$FILES files of $FILE_KIB KiB in one job over loopback from nginx" files "$FILES"
}

# bench_upload: curl downloads the file from nginx, then a Ferry upload job
# (`ferry transfer --upload`: create, addfile, resume, wait, complete) sends
# it to `ferry serve-uploads`; runs alternate, so both see the same machine.
bench_upload() {
  head -c $((UPLOAD_MIB << 20)) /dev/urandom >"$work/www/up.bin"
  local want r got i uport
  want=$(sha256sum "$work/www/up.bin" | cut -d' ' -f1)
  mkdir -p "$work/in"
  uport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$FERRY" serve-uploads --listen "127.0.0.1:$uport" --dir "$work/in" --overwrite >"$work/serve-uploads.log" 2>&1 &
  up_pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null -X BITS_POST -H 'BITS-Packet-Type: Ping' "http://127.0.0.1:$uport/" && break; sleep 0.1; done
  for i in $(seq "$RUNS"); do
    rm -f "$work/out/curl"
    r=$(measure curl curl -sS -o "$work/out/curl" "$base/up.bin")
    got=$(sha256sum "$work/out/curl" | cut -d' ' -f1)
    [ "$got" = "$want" ] || { echo "curl: SHA-256 mismatch" >&2; exit 1; }
    best curl "$r"
    rm -f "$work/out/curl" "$work/in/up.bin"
    r=$(measure ferry "$FERRY" transfer --upload --name bench-up "http://127.0.0.1:$uport/up.bin" "$work/www/up.bin")
    got=$(sha256sum "$work/in/up.bin" | cut -d' ' -f1)
    [ "$got" = "$want" ] || { echo "ferry upload: SHA-256 mismatch (run $i)" >&2; exit 1; }
    best ferry "$r"
  done
  kill "$up_pid" && wait "$up_pid" 2>/dev/null || true
  up_pid=
  rm -rf "$work/www/up.bin" "$work/in" "$work/out/"*
  report "$UPLOAD_MIB MiB upload to ferry serve-uploads (curl: the same file downloaded from nginx)" MiB "$UPLOAD_MIB" "curl ferry"
}

for c in $CASES; do
  case $c in
    big) bench_big ;;
    small) bench_small ;;
    upload) bench_upload ;;
    queue) FERRY=$FERRY BENCH_RUNS=$RUNS scripts/bench-queue.sh ;;
    *) echo "bench: unknown case $c (big, small, upload, queue)" >&2; exit 2 ;;
  esac
done
