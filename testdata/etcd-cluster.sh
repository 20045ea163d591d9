#!/usr/bin/env bash
# Starts a local 3-member etcd and three beacon nodes on one registry, all
# on loopback, so you can watch failover yourself. Ctrl-C stops everything
# this script started (by PID) and removes its data.
#
#   etcd members   client 127.0.0.1:23791..23793   peer 127.0.0.1:23801..23803
#   beacon b1..b3  HTTP   127.0.0.1:8501..8503     DNS  127.0.0.1:8601..8603
#
# Needs etcd (Debian: apt-get install etcd-server) and Go. Run it from the
# repository root: bash testdata/etcd-cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
etcd_bin="${ETCD:-$(command -v etcd || echo /usr/bin/etcd)}"
[ -x "$etcd_bin" ] || { echo "etcd not found; install etcd-server or set ETCD=/path/to/etcd" >&2; exit 1; }

work="$(mktemp -d -t beacon-etcd.XXXXXX)"
pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
  # An etcd leader whose followers stop with it waits for them a while;
  # after 3 s, stop whatever is left for good.
  for _ in $(seq 30); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT INT TERM

echo "building beacon into $work"
go build -o "$work/beacon" ./cmd/beacon

cluster="e1=http://127.0.0.1:23801,e2=http://127.0.0.1:23802,e3=http://127.0.0.1:23803"
for i in 1 2 3; do
  # --auto-compaction-* keeps etcd's history bounded (5 minutes of it),
  # which is what README asks of a production etcd too.
  "$etcd_bin" --name "e$i" --data-dir "$work/etcd$i" \
    --listen-client-urls "http://127.0.0.1:2379$i" --advertise-client-urls "http://127.0.0.1:2379$i" \
    --listen-peer-urls "http://127.0.0.1:2380$i" --initial-advertise-peer-urls "http://127.0.0.1:2380$i" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token beacon-demo \
    --auto-compaction-mode periodic --auto-compaction-retention 5m \
    --logger zap --log-outputs "$work/etcd$i.log" &
  pids+=($!)
  echo "etcd e$i pid $! (log $work/etcd$i.log)"
done

store="etcd://127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793/beacon"
for i in 1 2 3; do
  "$work/beacon" serve -store "$store" -node "b$i" -data-dir "$work/b$i" \
    -http-addr "127.0.0.1:850$i" -dns-addr "127.0.0.1:860$i" 2>"$work/b$i.log" &
  pids+=($!)
  echo "beacon b$i pid $! (log $work/b$i.log)"
done

for i in 1 2 3; do
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:850$i/healthz" >/dev/null && break
    sleep 0.2
  done
  curl -fs "http://127.0.0.1:850$i/healthz" >/dev/null || { echo "beacon b$i did not become ready; see $work/b$i.log" >&2; exit 1; }
done

cat <<'HELP'

All up. Try, in another terminal:

  # write through b1, read through b2 and b3
  curl -X PUT 127.0.0.1:8501/v1/agent/service/register -d '{"ID":"web1","Name":"web","Address":"10.0.0.5","Port":8080}'
  dig @127.0.0.1 -p 8602 web.service.local +short
  curl -si 127.0.0.1:8503/v1/catalog/service/web | grep X-Consul

  # the etcd leader, then kill it: writes pause about a second, reads never
  ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793 endpoint status -w table
  kill -9 <pid of the leader>

  # freeze all of etcd: DNS still answers, writes fail within 5 s with 503,
  # X-Consul-KnownLeader turns false; then thaw it
  kill -STOP <etcd pids>;  kill -CONT <etcd pids>

Ctrl-C stops everything.
HELP
wait
