#!/usr/bin/env bash
# make bench: one 1 GiB loopback download from a real nginx by curl, aria2c
# and Ferry, in one run, reporting wall time, CPU time and Ferry's ratios.
# Ferry's CPU is the engine's (the service process does the transfer) plus
# the client's.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
RUNS=${BENCH_RUNS:-3}
FERRY=${FERRY:-build/bin/ferry}
work=$(mktemp -d /tmp/ferry-bench.XXXXXX)
cleanup() {
  [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null || true
  FERRY_HOME=$work/home "$FERRY" shutdown >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www" "$work/out" "$work/home" "$work/nginx"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$work/www/big.bin"
want=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)
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
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$port; root $work/www; }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/" -r 0-0 --head 2>/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/big.bin"

export FERRY_HOME=$work/home
"$FERRY" service >"$work/service.log" 2>&1 &
svc=$!
for _ in $(seq 100); do "$FERRY" --no-autostart list >/dev/null 2>&1 && break; sleep 0.1; done
tck=$(getconf CLK_TCK)
proc_cpu() { awk -v t="$tck" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat"; }

# run NAME CMD...: prints "wall cpu" of the command (its children included;
# for ferry also the engine process's CPU, which does the transfer).
run() {
  local out=$work/out/$1 name=$1; shift
  rm -f "$out"
  local s0 e0 t
  s0=$(proc_cpu "$svc")
  TIMEFORMAT="%R %U %S"
  t=$( { time "$@" >/dev/null 2>"$work/err"; } 2>&1 ) || { cat "$work/err" >&2; exit 1; }
  e0=$(proc_cpu "$svc")
  got=$(sha256sum "$out" | cut -d' ' -f1)
  [ "$got" = "$want" ] || { echo "$name: SHA-256 mismatch" >&2; exit 1; }
  awk -v t="$t" -v s="$s0" -v e="$e0" -v n="$name" 'BEGIN{split(t,a," "); extra=(n=="ferry")?(e-s):0; printf "%.3f %.3f\n", a[1], a[2]+a[3]+extra}'
}

declare -A wall cpu
for tool in curl aria2c ferry; do
  for i in $(seq "$RUNS"); do
    case $tool in
      curl) r=$(run curl curl -sS -o "$work/out/curl" "$url") ;;
      aria2c) r=$(run aria2c aria2c -q --allow-overwrite=true --file-allocation=none -d "$work/out" -o aria2c "$url") ;;
      ferry) r=$(run ferry "$FERRY" transfer --name bench "$url" "$work/out/ferry") ;;
    esac
    set -- $r
    # keep the best of the runs
    if [ -z "${wall[$tool]:-}" ] || awk -v a="$1" -v b="${wall[$tool]}" 'BEGIN{exit !(a<b)}'; then wall[$tool]=$1; cpu[$tool]=$2; fi
  done
done
printf '%s MiB over loopback from nginx, best of %s runs\n' "$SIZE_MIB" "$RUNS"
printf '%-8s %10s %10s %12s\n' tool wall_s cpu_s MiB/s
for tool in curl aria2c ferry; do
  awk -v n="$tool" -v w="${wall[$tool]}" -v c="${cpu[$tool]}" -v s="$SIZE_MIB" 'BEGIN{printf "%-8s %10.3f %10.3f %12.1f\n", n, w, c, s/w}'
done
awk -v f="${wall[ferry]}" -v c="${wall[curl]}" -v a="${wall[aria2c]}" -v fc="${cpu[ferry]}" -v cc="${cpu[curl]}" -v ac="${cpu[aria2c]}" \
  'BEGIN{printf "ferry/curl: wall %.2fx cpu %.2fx   ferry/aria2c: wall %.2fx cpu %.2fx\n", f/c, fc/cc, f/a, fc/ac}'
