#!/usr/bin/env bash
# Connection scaling: canaryflow-proxy against nginx at 50, 500 and 2,000
# keep-alive client connections, each splitting 90/10 between the same two
# trivial Go backends, in one run.
#
# For every connection count, ROUNDS interleaved rounds of wrk (one thread,
# DURATION each) go through each variant in turn; while wrk runs, the
# variant's memory is sampled every 0.5 s after the first 2 s (steady
# state): VmRSS of the process (for nginx, summed over the master and its
# workers), and PSS (smaps_rollup), which counts pages shared between
# nginx's processes once. It prints the median req/s, the median of the
# rounds' largest RSS samples, the RSS above the process's idle RSS per
# client connection, and canaryflow-proxy's VmHWM at the end.
#
# Before any load, each variant also holds the largest count of idle
# keep-alive connections (bench/proxy/idleconns), each answered once: the
# memory above its fresh RSS, per connection, is what an idle client
# connection costs it.
#
# Counts go up (50, then 500, then 2,000): a Go process keeps memory it
# has used for a while, so a count measured after a larger one would read
# the larger one's RSS.
#
# Usage: bench/proxy/conns.sh         (from the repository root)
# Env:   ROUNDS=3 DURATION=10s COUNTS="50 500 2000" WORK=/tmp/canaryflow-conns
#        BASE=<git ref> also builds that commit's canaryflow-proxy and runs
#        it as the variant cf-base in the same rounds
#        GC_VARIANT="GOGC=50" also runs canaryflow-proxy with that
#        environment as the variant cf-gogc
set -euo pipefail
. "$(dirname "$0")/nginx.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
COUNTS=${COUNTS:-50 500 2000}
WORK=${WORK:-/tmp/canaryflow-conns}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BASE=${BASE:-}
PATH=$PATH:/usr/sbin

for bin in nginx wrk; do
	command -v "$bin" >/dev/null || { echo "$bin is missing: apt-get install -y nginx wrk"; exit 1; }
done
# wrk and every proxy hold two descriptors or more per client connection.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
max=$(echo "$COUNTS" | tr ' ' '\n' | sort -n | tail -1)
if [ "$(ulimit -n)" -lt $((max * 2 + 100)) ]; then
	echo "ulimit -n is $(ulimit -n): too few descriptors for $max connections"
	exit 1
fi

rm -rf "$WORK" && mkdir -p "$WORK/nginx" "$WORK/nginx1"
export CANARYFLOW_STATE_DIR="$WORK/state"
echo "building into $WORK"
# canaryflow-proxy is built static, as the Makefile builds it (BASE too).
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/" ./cmd/canaryflow-proxy && go build -o "$WORK/backend" ./bench/proxy/backend &&
	go build -o "$WORK/idleconns" ./bench/proxy/idleconns)
if [ -n "$BASE" ]; then
	echo "building $BASE ($(git -C "$ROOT" rev-parse --short "$BASE")) into $WORK/base"
	mkdir -p "$WORK/base-src" "$WORK/base"
	git -C "$ROOT" archive "$BASE" | tar -x -C "$WORK/base-src"
	(cd "$WORK/base-src" && CGO_ENABLED=0 go build -o "$WORK/base/" ./cmd/canaryflow-proxy)
fi

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for n in nginx nginx1; do
		[ -f "$WORK/$n/nginx.pid" ] && kill "$(cat "$WORK/$n/nginx.pid")" 2>/dev/null || true
	done
}
trap cleanup EXIT

"$WORK/backend" -listen 127.0.0.1:19101 -name blue & pids+=($!)
"$WORK/backend" -listen 127.0.0.1:19102 -name green & pids+=($!)

declare -A URL PID
"$WORK/canaryflow-proxy" --listen 127.0.0.1:18480 --admin 127.0.0.1:18490 \
	--blue http://127.0.0.1:19101 --green http://127.0.0.1:19102 --green-weight 10 \
	>"$WORK/canaryflow.log" 2>&1 & PID[canaryflow]=$!
pids+=(${PID[canaryflow]})
URL[canaryflow]=http://127.0.0.1:18480/
VARIANTS=(canaryflow)
if [ -n "${GC_VARIANT:-}" ]; then
	# The same binary with other garbage collector settings, as the
	# variant cf-gogc: GC_VARIANT is its environment, such as GOGC=50
	# (collect at 50% heap growth instead of 100%) or GOMEMLIMIT=40MiB.
	env $GC_VARIANT "$WORK/canaryflow-proxy" --listen 127.0.0.1:18482 --admin 127.0.0.1:18492 \
		--blue http://127.0.0.1:19101 --green http://127.0.0.1:19102 --green-weight 10 \
		>"$WORK/canaryflow-gogc.log" 2>&1 & PID[cf-gogc]=$!
	pids+=(${PID[cf-gogc]})
	URL[cf-gogc]=http://127.0.0.1:18482/
	VARIANTS+=(cf-gogc)
fi
if [ -n "$BASE" ]; then
	"$WORK/base/canaryflow-proxy" --listen 127.0.0.1:18481 --admin 127.0.0.1:18491 \
		--blue http://127.0.0.1:19101 --green http://127.0.0.1:19102 --green-weight 10 \
		>"$WORK/canaryflow-base.log" 2>&1 & PID[cf-base]=$!
	pids+=(${PID[cf-base]})
	URL[cf-base]=http://127.0.0.1:18481/
	VARIANTS+=(cf-base)
fi

nginx_conf "$WORK/nginx" auto 127.0.0.1:18580 127.0.0.1:19101 127.0.0.1:19102 8192
nginx_conf "$WORK/nginx1" 1 127.0.0.1:18581 127.0.0.1:19101 127.0.0.1:19102 8192
nginx -c "$WORK/nginx/nginx.conf"
nginx -c "$WORK/nginx1/nginx.conf"
URL[nginx]=http://127.0.0.1:18580/
URL[nginx1]=http://127.0.0.1:18581/
VARIANTS+=(nginx nginx1)

for v in "${VARIANTS[@]}"; do
	for _ in $(seq 50); do curl -fs "${URL[$v]}" >/dev/null && break; sleep 0.1; done
	curl -fs "${URL[$v]}" >/dev/null || { echo "$v does not answer"; exit 1; }
done
PID[nginx]=$(cat "$WORK/nginx/nginx.pid")
PID[nginx1]=$(cat "$WORK/nginx1/nginx.pid")

# procs VARIANT: the PIDs whose memory counts (nginx: master and workers).
procs() {
	local p=${PID[$1]}
	case $1 in
	nginx*) echo "$p $(pgrep -P "$p" | tr '\n' ' ')" ;;
	*) echo "$p" ;;
	esac
}
# mem VARIANT: "RSS_KB PSS_KB" summed over its processes.
mem() {
	local rss=0 pss=0 p r s
	for p in $(procs "$1"); do
		r=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
		s=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		rss=$((rss + ${r:-0})) pss=$((pss + ${s:-0}))
	done
	echo "$rss $pss"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A IDLE
for v in "${VARIANTS[@]}"; do IDLE[$v]=$(mem "$v" | cut -d' ' -f1); done

echo
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $(date -u +%Y-%m-%dT%H:%MZ), wrk -t1 -d$DURATION, $ROUNDS interleaved rounds per count"
echo "idle RSS before any load (KB): $(for v in "${VARIANTS[@]}"; do printf '%s=%s ' "$v" "${IDLE[$v]}"; done)"

# Idle keep-alive connections first, while every process is fresh: $max
# connections each answered once, then idle; memory sampled after 4 s.
echo
echo "== $max idle keep-alive connections (bench/proxy/idleconns: one request each, then idle)"
for v in "${VARIANTS[@]}"; do
	before=$(mem "$v")
	hostport=${URL[$v]#http://}
	"$WORK/idleconns" -addr "${hostport%/}" -n "$max" -hold 6s >"$WORK/idle.txt" & ic=$!
	for _ in $(seq 100); do grep -q idle "$WORK/idle.txt" 2>/dev/null && break; sleep 0.1; done
	sleep 4
	during=$(mem "$v")
	wait $ic
	awk -v v="$v" -v n="$max" -v b="${before% *}" -v d="${during% *}" -v bp="${before#* }" -v dp="${during#* }" 'BEGIN {
		printf "%-11s RSS %6.1f MB -> %6.1f MB (%.1f KB per idle connection); PSS %6.1f -> %6.1f MB\n", v, b / 1024, d / 1024, (d - b) / n, bp / 1024, dp / 1024 }'
done

declare -A RPS RSS PSS
for c in $COUNTS; do
	for r in $(seq "$ROUNDS"); do
		for v in "${VARIANTS[@]}"; do
			( sleep 2; while :; do mem "$v"; sleep 0.5; done ) >"$WORK/mem.txt" 2>/dev/null &
			sampler=$!
			out=$(wrk -t1 -c"$c" -d"$DURATION" "${URL[$v]}")
			kill $sampler; wait $sampler 2>/dev/null || true
			rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
			errs=$(echo "$out" | awk '/Socket errors|Non-2xx/ {printf "%s ", $0}')
			rss=$(sort -n "$WORK/mem.txt" | tail -1 | cut -d' ' -f1)
			pss=$(sort -n -k2 "$WORK/mem.txt" | tail -1 | cut -d' ' -f2)
			RPS[$v,$c]="${RPS[$v,$c]:-} $rps" RSS[$v,$c]="${RSS[$v,$c]:-} $rss" PSS[$v,$c]="${PSS[$v,$c]:-} $pss"
			echo "c=$c round $r $v: $rps req/s, RSS max $((rss / 1024)) MB, PSS max $((pss / 1024)) MB ${errs}"
		done
	done
done

echo
echo "== summary (medians of $ROUNDS rounds; RSS/conn is the RSS above the idle RSS per client connection)"
printf '%-11s %6s %10s %9s %9s %10s  %s\n' variant conns req/s RSS_MB PSS_MB RSS/conn rounds
for c in $COUNTS; do
	for v in "${VARIANTS[@]}"; do
		m=$(echo "${RPS[$v,$c]}" | median)
		rss=$(echo "${RSS[$v,$c]}" | median)
		pss=$(echo "${PSS[$v,$c]}" | median)
		awk -v v="$v" -v c="$c" -v m="$m" -v rss="$rss" -v pss="$pss" -v idle="${IDLE[$v]}" -v all="${RPS[$v,$c]}" 'BEGIN {
			printf "%-11s %6d %10.0f %9.1f %9.1f %7.1f KB  (req/s:%s)\n", v, c, m, rss / 1024, pss / 1024, (rss - idle) / c, all }'
	done
	awk -v cf="$(echo "${RPS[canaryflow,$c]}" | median)" -v n="$(echo "${RPS[nginx,$c]}" | median)" -v n1="$(echo "${RPS[nginx1,$c]}" | median)" \
		-v r="$(echo "${RSS[canaryflow,$c]}" | median)" -v nr="$(echo "${RSS[nginx,$c]}" | median)" -v nr1="$(echo "${RSS[nginx1,$c]}" | median)" -v c="$c" 'BEGIN {
		best = n > n1 ? n : n1
		printf "c=%d: canaryflow / faster nginx req/s %.2fx; RSS / nginx (auto) %.2fx, / nginx (1 worker) %.2fx\n", c, cf / best, r / nr, r / nr1 }'
	if [ -n "$BASE" ]; then
		awk -v cf="$(echo "${RPS[canaryflow,$c]}" | median)" -v b="$(echo "${RPS[cf-base,$c]}" | median)" \
			-v r="$(echo "${RSS[canaryflow,$c]}" | median)" -v br="$(echo "${RSS[cf-base,$c]}" | median)" -v c="$c" 'BEGIN {
			printf "c=%d: canaryflow / cf-base req/s %.3fx, RSS %.2fx\n", c, cf / b, r / br }'
	fi
done
for v in "${VARIANTS[@]}"; do
	case $v in nginx*) continue ;; esac
	echo "$v VmHWM at the end: $(($(awk '/VmHWM/ {print $2}' "/proc/${PID[$v]}/status") / 1024)) MB"
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
