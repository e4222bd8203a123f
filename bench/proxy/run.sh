#!/usr/bin/env bash
# Benchmark canaryflow's router against nginx and HAProxy on loopback.
#
# One run, interleaved rounds: direct (no proxy), canaryflow proxy, nginx
# (upstream keepalive) and HAProxy, each splitting 90/10 between two trivial
# Go backends. Prints throughput (wrk), p50/p99 at a fixed 1,000 rps
# (loadgen, open loop, all variants taking turns in 200 ms slices), the
# observed split over 100k requests at 1, 7 and 50 connections, failures
# over 20 weight changes and target removals under load, and canaryflow's
# RSS at 1,000 rps. Figures are ratios to nginx measured in the same run.
#
# canaryflow is measured twice: as shipped (its own HTTP/1.1 front end) and
# with --net-http (net/http serves the clients). canaryflow-proxy is built
# beside canaryflow, so `canaryflow proxy` execs it (same PID); one more
# instance with CANARYFLOW_PROXY_INPROCESS=1 shows what serving from the
# full canaryflow binary would cost in memory. go-tcp, a bare Go TCP
# forwarder (no HTTP parsing, no split), shows what the Go runtime alone
# costs, as the floor for any proxy written in Go.
#
# Usage: bench/proxy/run.sh            (from the repository root; needs root
#                                       for apt-get when peers are missing)
# Env:   ROUNDS=3 DURATION=5s CONNS=50 LDURATION=40s WORK=/tmp/canaryflow-bench
#        ONLY=latency stops after the latency rounds
#        BASE=<git ref> also builds that commit's proxy and runs it as the
#        variant cf-base in the same interleaved rounds, so a change to the
#        router is compared with what it changes (ratios canaryflow / cf-base)
set -euo pipefail
. "$(dirname "$0")/nginx.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
WORK=${WORK:-/tmp/canaryflow-bench}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

need=()
for bin in nginx haproxy wrk; do
	command -v "$bin" >/dev/null || [ -x "/usr/sbin/$bin" ] || need+=("$bin")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "installing peers: ${need[*]} (Debian packages)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx haproxy wrk hey >/dev/null
fi
PATH=$PATH:/usr/sbin

rm -rf "$WORK" && mkdir -p "$WORK/nginx" "$WORK/nginx1"
# The proxy writes its admin token here; set-weight and admin() read it.
export CANARYFLOW_STATE_DIR="$WORK/state"
echo "building into $WORK"
# canaryflow-proxy is built static, as the Makefile builds it.
(cd "$ROOT" && go build -o "$WORK/" ./cmd/canaryflow && CGO_ENABLED=0 go build -o "$WORK/" ./cmd/canaryflow-proxy &&
	go build -o "$WORK/backend" ./bench/proxy/backend &&
	go build -o "$WORK/loadgen" ./bench/proxy/loadgen &&
	go build -o "$WORK/gotcp" ./bench/proxy/gotcp)
BASE=${BASE:-}
if [ -n "$BASE" ]; then
	echo "building $BASE ($(git -C "$ROOT" rev-parse --short "$BASE")) into $WORK/base"
	mkdir -p "$WORK/base-src" "$WORK/base"
	git -C "$ROOT" archive "$BASE" | tar -x -C "$WORK/base-src"
	(cd "$WORK/base-src" && go build -o "$WORK/base/" ./cmd/canaryflow && CGO_ENABLED=0 go build -o "$WORK/base/" ./cmd/canaryflow-proxy)
fi

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for n in nginx nginx1; do
		[ -f "$WORK/$n/nginx.pid" ] && kill "$(cat "$WORK/$n/nginx.pid")" 2>/dev/null || true
	done
	[ -f "$WORK/haproxy.pid" ] && kill "$(cat "$WORK/haproxy.pid")" 2>/dev/null || true
}
trap cleanup EXIT

"$WORK/backend" -listen 127.0.0.1:19001 -name blue & pids+=($!)
"$WORK/backend" -listen 127.0.0.1:19003 -name blue & pids+=($!)
"$WORK/backend" -listen 127.0.0.1:19002 -name green & pids+=($!)

"$WORK/canaryflow" proxy --listen 127.0.0.1:18080 --admin 127.0.0.1:18090 \
	--blue http://127.0.0.1:19001 --green http://127.0.0.1:19002 --green-weight 10 \
	--deregistration-delay 5s >"$WORK/canaryflow.log" 2>&1 & CF_PID=$!
pids+=($CF_PID)

# The same proxy with net/http serving the clients (no fast front end), to
# show what the front end is worth in the same run.
"$WORK/canaryflow" proxy --net-http --listen 127.0.0.1:18083 \
	--blue http://127.0.0.1:19001 --green http://127.0.0.1:19002 --green-weight 10 \
	>"$WORK/canaryflow-nethttp.log" 2>&1 & pids+=($!)

# The same proxy served by the full canaryflow binary (no exec of
# canaryflow-proxy): for RSS only.
CANARYFLOW_PROXY_INPROCESS=1 "$WORK/canaryflow" proxy --listen 127.0.0.1:18082 \
	--blue http://127.0.0.1:19001 --green http://127.0.0.1:19002 --green-weight 10 \
	>"$WORK/canaryflow-inprocess.log" 2>&1 & IP_PID=$!
pids+=($IP_PID)

# The same proxy as built from BASE, with the same flags.
if [ -n "$BASE" ]; then
	"$WORK/base/canaryflow" proxy --listen 127.0.0.1:18084 \
		--blue http://127.0.0.1:19001 --green http://127.0.0.1:19002 --green-weight 10 \
		>"$WORK/canaryflow-base.log" 2>&1 & pids+=($!)
fi

# The floor for any Go proxy: bytes copied between a client and a backend
# connection by two goroutines, no HTTP parsing, no split (all to blue).
"$WORK/gotcp" -listen 127.0.0.1:18380 -backend 127.0.0.1:19001 & pids+=($!)

nginx_conf "$WORK/nginx" auto 127.0.0.1:18180 127.0.0.1:19001 127.0.0.1:19002 4096
nginx -c "$WORK/nginx/nginx.conf"
# The same nginx with one worker: on two shared cores it is sometimes the
# faster setting, and the reference is whichever nginx is faster.
nginx_conf "$WORK/nginx1" 1 127.0.0.1:18181 127.0.0.1:19001 127.0.0.1:19002 4096
nginx -c "$WORK/nginx1/nginx.conf"

cat >"$WORK/haproxy.cfg" <<HAP
global
  maxconn 4096
  nbthread 2
  pidfile $WORK/haproxy.pid
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:18280
  default_backend be
backend be
  balance roundrobin
  server blue 127.0.0.1:19001 weight 9
  server green 127.0.0.1:19002 weight 1
HAP
haproxy -D -f "$WORK/haproxy.cfg"

declare -A URL=([direct]=http://127.0.0.1:19001/ [canaryflow]=http://127.0.0.1:18080/
	[cf-nethttp]=http://127.0.0.1:18083/
	[nginx]=http://127.0.0.1:18180/ [nginx1]=http://127.0.0.1:18181/ [haproxy]=http://127.0.0.1:18280/
	[go-tcp]=http://127.0.0.1:18380/)
VARIANTS=(direct canaryflow cf-nethttp go-tcp nginx nginx1 haproxy)
if [ -n "$BASE" ]; then
	URL[cf-base]=http://127.0.0.1:18084/
	VARIANTS=(direct canaryflow cf-base cf-nethttp go-tcp nginx nginx1 haproxy)
fi
for v in "${VARIANTS[@]}"; do
	for _ in $(seq 50); do curl -fs "${URL[$v]}" >/dev/null && break; sleep 0.1; done
	curl -fs "${URL[$v]}" >/dev/null || { echo "$v does not answer"; exit 1; }
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $(date -u +%Y-%m-%dT%H:%MZ)"

# Latency at a fixed 1,000 rps, open loop. One loadgen takes turns between
# all the variants in 200 ms slices, each over its own 10 keep-alive
# connections, for LDURATION each, and pools each one's latencies: every
# variant meets the same neighbours on this shared machine. Rounds of
# seconds one after the other (this script until 2026-11-26 04:00) moved
# nginx's own p99 by 2x from round to round.
LDURATION=${LDURATION:-40s}
echo
echo "== latency at 1,000 rps (loadgen -rate 1000 -c 10, turns of 200 ms, $LDURATION per variant)"
args=()
for v in "${VARIANTS[@]}"; do args+=(-url "${URL[$v]}"); done
"$WORK/loadgen" "${args[@]}" -rate 1000 -c 10 -d "$LDURATION" -slice 200ms >"$WORK/latency.txt"
declare -A P50 P99 P999
for v in "${VARIANTS[@]}"; do
	line=$(grep -F "url=${URL[$v]} " "$WORK/latency.txt")
	P50[$v]=$(echo "$line" | sed 's/.*p50_us=\([0-9]*\).*/\1/')
	P99[$v]=$(echo "$line" | sed 's/.*p99_us=\([0-9]*\).*/\1/')
	P999[$v]=$(echo "$line" | sed 's/.*p999_us=\([0-9]*\).*/\1/')
	echo "$v: ${line#url=* }"
done
for v in "${VARIANTS[@]}"; do
	awk -v v="$v" -v p50="${P50[$v]}" -v p99="${P99[$v]}" -v p999="${P999[$v]}" -v n50="${P50[nginx]}" -v n99="${P99[nginx]}" \
		-v d50="${P50[direct]}" -v d99="${P99[direct]}" 'BEGIN {
		a = p99 - d99; na = n99 - d99; if (na <= 0) na = 1
		a50 = p50 - d50; na50 = n50 - d50; if (na50 <= 0) na50 = 1
		printf "%-11s p50 %5d us (added %4d us, %.2fx nginx added)  p99 %5d us (added %5d us, %.2fx nginx added)  p99.9 %6d us\n",
			v, p50, a50, a50 / na50, p99, a, a / na, p999 }'
done

if [ -n "$BASE" ]; then
	awk -v p50="${P50[canaryflow]}" -v p99="${P99[canaryflow]}" -v b50="${P50[cf-base]}" -v b99="${P99[cf-base]}" \
		-v d50="${P50[direct]}" -v d99="${P99[direct]}" 'BEGIN {
		a50 = p50 - d50; ab50 = b50 - d50; if (ab50 <= 0) ab50 = 1
		a99 = p99 - d99; ab99 = b99 - d99; if (ab99 <= 0) ab99 = 1
		printf "canaryflow / cf-base: added p50 %.2fx, added p99 %.2fx\n", a50 / ab50, a99 / ab99 }'
fi

# Memory: canaryflow alone at 1,000 rps, as installed (canaryflow proxy
# execs canaryflow-proxy), then the same served in-process.
rss() { # PID URL: max VmRSS in MB over 5 s at 1,000 rps
	( while sleep 0.5; do awk '/VmRSS/ {print $2}' "/proc/$1/status"; done ) >"$WORK/rss.txt" 2>/dev/null &
	local sampler=$!
	"$WORK/loadgen" -url "$2" -rate 1000 -c 10 -d 5s >/dev/null
	kill $sampler
	echo $(($(sort -n "$WORK/rss.txt" | tail -1) / 1024))
}
echo
echo "canaryflow proxy RSS at 1,000 rps: max $(rss $CF_PID "${URL[canaryflow]}") MB" \
	"(process runs $(readlink /proc/$CF_PID/exe));" \
	"at the end: $(grep -E '^(Rss|Anonymous):' /proc/$CF_PID/smaps_rollup | tr -s ' ' | tr '\n' ' ')"
echo "canaryflow proxy in-process (CANARYFLOW_PROXY_INPROCESS=1) RSS at 1,000 rps: max $(rss $IP_PID http://127.0.0.1:18082/) MB" \
	"(process runs $(readlink /proc/$IP_PID/exe); canaryflow: $(($(stat -c %s "$WORK/canaryflow") / 1048576)) MB on disk," \
	"canaryflow-proxy: $(($(stat -c %s "$WORK/canaryflow-proxy") / 1048576)) MB)"

if [ "${ONLY:-}" = latency ]; then exit 0; fi

# Throughput: interleaved rounds, median per variant.
declare -A RPS
for r in $(seq "$ROUNDS"); do
	for v in "${VARIANTS[@]}"; do
		rps=$(wrk -t1 -c"$CONNS" -d"$DURATION" "${URL[$v]}" | awk '/Requests\/sec/ {print $2}')
		RPS[$v]="${RPS[$v]:-} $rps"
		echo "round $r $v: $rps req/s"
	done
done
echo
echo "== throughput (wrk -t1 -c$CONNS -d$DURATION, median of $ROUNDS interleaved rounds; ratio to the faster nginx)"
NGX=$(printf '%s\n' "$(echo "${RPS[nginx]}" | median)" "$(echo "${RPS[nginx1]}" | median)" | sort -n | tail -1)
for v in "${VARIANTS[@]}"; do
	m=$(echo "${RPS[$v]}" | median)
	awk -v v="$v" -v m="$m" -v n="$NGX" -v all="${RPS[$v]}" 'BEGIN {printf "%-11s %9.0f req/s  %.2fx nginx   (rounds:%s)\n", v, m, m/n, all}'
done

if [ -n "$BASE" ]; then
	awk -v m="$(echo "${RPS[canaryflow]}" | median)" -v b="$(echo "${RPS[cf-base]}" | median)" \
		'BEGIN {printf "canaryflow / cf-base throughput: %.3fx\n", m / b}'
fi
echo "canaryflow peak RSS over the whole run so far: $(($(awk '/VmHWM/ {print $2}' /proc/$CF_PID/status) / 1024)) MB"

# Observed split over 100k requests.
echo
echo "== split at 10% green over 100k requests (loadgen -n 100000)"
for c in 1 7 50; do
	echo "canaryflow c=$c: $("$WORK/loadgen" -url "${URL[canaryflow]}" -n 100000 -c $c)"
done
for v in nginx haproxy; do
	echo "$v c=50: $("$WORK/loadgen" -url "${URL[$v]}" -n 100000 -c 50)"
done

# Weight changes and target removals under load at 70% of max throughput.
CFRPS=$(echo "${RPS[canaryflow]}" | median)
RATE=$(awk -v m="$CFRPS" 'BEGIN {printf "%d", m * 0.7}')
echo
echo "== 20 weight changes + 2 target removals under load at $RATE rps (70% of canaryflow's max)"
"$WORK/loadgen" -url "${URL[canaryflow]}" -rate "$RATE" -c 50 -d 12s >"$WORK/churn.txt" 2>&1 & LG=$!
sleep 1
admin() {
	curl -fs -X "$1" -H 'Content-Type: application/json' -H "Authorization: Bearer $(cat "$WORK/state/proxy/admin-loopback-18090.token")" \
		-d "$3" "http://127.0.0.1:18090$2" >/dev/null
}
i=0
for w in 10 100 0 50 100 0 25 75 100 0; do
	"$WORK/canaryflow" proxy set-weight --admin 127.0.0.1:18090 "$w" >/dev/null
	i=$((i + 1)); sleep 0.25
	if [ $i = 3 ]; then
		admin POST /targets '{"group":"blue","url":"http://127.0.0.1:19003"}'
	fi
	if [ $i = 6 ]; then
		admin DELETE /targets '{"group":"blue","url":"http://127.0.0.1:19001"}'
	fi
	"$WORK/canaryflow" proxy set-weight --admin 127.0.0.1:18090 "$((100 - w))" >/dev/null
	sleep 0.25
done
admin POST /targets '{"group":"blue","url":"http://127.0.0.1:19001"}'
sleep 0.5
admin DELETE /targets '{"group":"blue","url":"http://127.0.0.1:19003"}'
wait $LG
cat "$WORK/churn.txt"
echo
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
