#!/usr/bin/env bash
# The shaped link of the yield test and benchmark, in network namespaces of
# its own (root, or CAP_NET_ADMIN with iproute2):
#
#   yield-net.sh up NAME DELAY STATE   two namespaces NAME-s (server, 10.77.0.1)
#                                      and NAME-c (client, 10.77.0.2); the
#                                      server's side shaped to 50 Mbit/s by tbf;
#                                      DELAY 0 joins them by a veth pair, else
#                                      through delayline (DELAY each way, e.g.
#                                      20ms). STATE: a directory for its pid.
#   yield-net.sh down NAME STATE       remove both namespaces, stop delayline.
#
# NAME must be short (interface names are NAME-a and NAME-b, 15 bytes at
# most). YIELD_RATE changes the shaping rate (default 50mbit). YIELD_CC is
# the congestion control both namespaces send with (default cubic, Linux's
# default and what most web servers run; namespaces otherwise inherit the
# host's, which may be bbr). It is set on the link's route (ip route
# congctl): a namespace's net.ipv4.tcp_congestion_control may only name an
# algorithm in the host's tcp_allowed_congestion_control (EPERM otherwise),
# a route's may name any the kernel has.
# DELAYLINE is the delayline binary (default: built from
# ../shared/tools/delayline into STATE).
set -euo pipefail
cmd=$1 name=$2
here=$(cd "$(dirname "$0")/.." && pwd)
rate=${YIELD_RATE:-50mbit}
cc=${YIELD_CC:-cubic}

down() {
  local state=$1
  ip netns del "$name-s" 2>/dev/null || true
  ip netns del "$name-r" 2>/dev/null || true
  ip netns del "$name-c" 2>/dev/null || true
  if [ -f "$state/delayline.pid" ]; then
    kill "$(cat "$state/delayline.pid")" 2>/dev/null || true
    rm -f "$state/delayline.pid"
  fi
  ip link del "$name-a" 2>/dev/null || true
  ip link del "$name-x" 2>/dev/null || true
}

up() {
  local delay=$1 state=$2
  mkdir -p "$state"
  for ns in s r c; do
    ip netns add "$name-$ns"
    ip -n "$name-$ns" link set lo up
  done
  # server <-> router: a plain veth pair.
  ip link add "$name-x" type veth peer name "$name-y"
  ip link set "$name-x" netns "$name-s"
  ip link set "$name-y" netns "$name-r"
  # router <-> client: a veth pair, or delayline's two TAP devices.
  if [ "$delay" = 0 ] || [ "$delay" = 0ms ]; then
    ip link add "$name-a" type veth peer name "$name-b"
  else
    local dl=${DELAYLINE:-}
    if [ -z "$dl" ]; then
      local src=${DELAYLINE_SRC:-$here/../shared/tools/delayline}
      [ -f "$src/main.go" ] || { echo "yield-net: no delayline at $src (set DELAYLINE or DELAYLINE_SRC)" >&2; exit 1; }
      dl=$state/delayline
      (cd "$src" && go build -o "$dl" .)
    fi
    "$dl" "$name-a" "$name-b" "$delay" >"$state/delayline.out" 2>&1 &
    echo $! >"$state/delayline.pid"
    for _ in $(seq 100); do grep -q ready "$state/delayline.out" 2>/dev/null && break; sleep 0.05; done
    grep -q ready "$state/delayline.out" || { echo "yield-net: delayline did not start: $(cat "$state/delayline.out")" >&2; exit 1; }
  fi
  ip link set "$name-a" netns "$name-r"
  ip link set "$name-b" netns "$name-c"
  ip -n "$name-s" addr add 10.77.0.1/24 dev "$name-x"
  ip -n "$name-r" addr add 10.77.0.254/24 dev "$name-y"
  ip -n "$name-r" addr add 10.77.1.254/24 dev "$name-a"
  ip -n "$name-c" addr add 10.77.1.2/24 dev "$name-b"
  ip -n "$name-s" link set "$name-x" up
  ip -n "$name-r" link set "$name-y" up
  ip -n "$name-r" link set "$name-a" up
  ip -n "$name-c" link set "$name-b" up
  ip netns exec "$name-r" sysctl -qw net.ipv4.ip_forward=1
  # The sender's congestion control decides how much queue the bottleneck
  # holds, which is what a delay-based controller sees.
  ip -n "$name-s" route replace 10.77.1.0/24 via 10.77.0.254 dev "$name-x" congctl lock "$cc"
  ip -n "$name-c" route replace 10.77.0.0/24 via 10.77.1.254 dev "$name-b" congctl lock "$cc"
  # The bottleneck is the router's queue toward the client, not the
  # server's own: a qdisc on the sender's host holds packets still charged
  # to their socket, so TCP Small Queues (tcp_small_queue_check) caps each
  # flow's share of that queue at about two of its segments' buffers, a
  # CUBIC flow beside another one stops being cwnd-limited and its window
  # never grows, and the queue no flow could build carries no delay signal.
  # Packets a router forwards belong to no socket (ip_forward drops those
  # that do), as on a real path. tbf's latency bounds the queue: 400 ms at
  # 50 Mbit/s is 2.5 MB, a bloated home link's buffer.
  tc -n "$name-r" qdisc add dev "$name-a" root tbf rate "$rate" burst 32kbit latency 400ms
  # Reachable: a connection to a closed port is refused (no ping here).
  for _ in $(seq 50); do
    case $(ip netns exec "$name-c" timeout 1 bash -c 'exec 3<>/dev/tcp/10.77.0.1/9' 2>&1) in *refused*) return 0 ;; esac
    sleep 0.1
  done
  echo "yield-net: 10.77.0.1 does not answer from $name-c" >&2
  exit 1
}

case $cmd in
  up) up "$3" "$4" ;;
  down) down "$3" ;;
  *) echo "usage: yield-net.sh up NAME DELAY STATE | down NAME STATE" >&2; exit 2 ;;
esac
