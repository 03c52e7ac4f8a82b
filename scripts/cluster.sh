#!/usr/bin/env bash
# A loopback Redis Cluster with the idgen module: 3 primaries and 3 replicas, each node with its
# own idgen.worker-id in its own config file.
#
#   scripts/cluster.sh start    start the nodes (and form the cluster the first time)
#   scripts/cluster.sh stop     shut the nodes down (data and config files stay)
#   scripts/cluster.sh status   CLUSTER NODES and each node's worker id
#   scripts/cluster.sh clean    stop, then remove the data directory
#
# Environment:
#   IDGEN_SERVER   server binary (default redis-server; Redis 8 and Valkey 9 work too)
#   IDGEN_CLI      client for `--cluster create` (default redis-cli)
#   IDGEN_MODULE   the module (default target/release/libidgen.so)
#   BASE_PORT      first node's port (default 22001); nodes use BASE_PORT..BASE_PORT+5, and the
#                  cluster bus +10000, so BASE_PORT must be at most 55530. The default keeps
#                  the bus ports (32001..32006) below Linux's ephemeral range (32768-60999),
#                  where a port briefly held by an outgoing connection stops a node's bus bind
#   CLUSTER_DIR    data directory (default data/cluster); node files in <dir>/<port>/
#
# Worker ids: the node on BASE_PORT+i gets idgen.worker-id i+1 (a config line in its
# <dir>/<port>/node.conf, so that CONFIG SET idgen.worker-id + CONFIG REWRITE persist a change).
set -euo pipefail

cd "$(dirname "$0")/.."
SERVER=${IDGEN_SERVER:-redis-server}
CLI=${IDGEN_CLI:-redis-cli}
MODULE=${IDGEN_MODULE:-target/release/libidgen.so}
BASE_PORT=${BASE_PORT:-22001}
DIR=${CLUSTER_DIR:-data/cluster}
NODES=6

die() { echo "cluster.sh: $*" >&2; exit 1; }

[[ $BASE_PORT =~ ^[0-9]+$ ]] || die "BASE_PORT must be a number"
((BASE_PORT >= 1024 && BASE_PORT + NODES - 1 <= 55535)) ||
	die "BASE_PORT must be 1024..$((55535 - NODES + 1)) (the cluster bus uses port+10000)"

ports() { seq "$BASE_PORT" $((BASE_PORT + NODES - 1)); }

cli() { "$CLI" -h 127.0.0.1 -p "$1" "${@:2}"; }

running() { cli "$1" PING >/dev/null 2>&1; }

write_config() {
	local port=$1 d=$2 worker=$3
	cat >"$d/node.conf" <<EOF
# idgen cluster node $port (scripts/cluster.sh); CONFIG REWRITE may rewrite this file.
port $port
bind 127.0.0.1
daemonize yes
dir $d
pidfile $d/server.pid
logfile $d/server.log
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 5000
appendonly yes
appendfsync everysec
repl-diskless-sync-delay 0
loadmodule $(realpath "$MODULE")
idgen.worker-id $worker
EOF
}

start() {
	[[ -f $MODULE ]] || die "module $MODULE not found: run make build (or set IDGEN_MODULE)"
	command -v "$SERVER" >/dev/null || die "server binary $SERVER not found (IDGEN_SERVER)"
	command -v "$CLI" >/dev/null || die "$CLI not found (IDGEN_CLI)"
	local fresh=0 i=0
	for port in $(ports); do
		local d
		d=$(realpath -m "$DIR/$port")
		mkdir -p "$d"
		[[ -f $d/nodes.conf ]] || fresh=1
		[[ -f $d/node.conf ]] || write_config "$port" "$d" $((i + 1))
		i=$((i + 1))
		if running "$port"; then
			echo "node $port already running"
			continue
		fi
		"$SERVER" "$d/node.conf" || die "node $port did not start (see $d/server.log)"
	done
	for port in $(ports); do
		for _ in $(seq 100); do running "$port" && break; sleep 0.1; done
		running "$port" || die "node $port does not answer (see $DIR/$port/server.log)"
	done
	if ((fresh)); then
		local addrs=()
		for port in $(ports); do addrs+=("127.0.0.1:$port"); done
		"$CLI" --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >/dev/null ||
			die "forming the cluster failed"
	fi
	for _ in $(seq 300); do
		[[ $(cli "$BASE_PORT" CLUSTER INFO | tr -d '\r' | grep '^cluster_state:') == cluster_state:ok ]] && break
		sleep 0.1
	done
	status
	echo
	echo "Connect with: redis-cli -c -p $BASE_PORT"
	echo "Stop with:    make cluster-stop   (or scripts/cluster.sh stop)"
}

stop() {
	for port in $(ports); do
		if running "$port"; then
			cli "$port" SHUTDOWN >/dev/null 2>&1 || true
			echo "node $port stopped"
		fi
	done
}

status() {
	cli "$BASE_PORT" CLUSTER INFO | tr -d '\r' | grep '^cluster_state:' || true
	for port in $(ports); do
		if running "$port"; then
			local role worker
			role=$(cli "$port" ROLE | head -1)
			worker=$(cli "$port" CONFIG GET idgen.worker-id | tail -1)
			echo "127.0.0.1:$port  $role  idgen.worker-id $worker  dir $DIR/$port"
		else
			echo "127.0.0.1:$port  down"
		fi
	done
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
clean)
	stop
	rm -rf "$DIR"
	;;
*) die "usage: $0 start|stop|status|clean" ;;
esac
