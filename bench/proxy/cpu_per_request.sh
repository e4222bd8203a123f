#!/usr/bin/env bash
# CPU time a proxy process spends per request under wrk load: steadier than
# wall-clock throughput on a shared machine, since a neighbour's burst slows
# every process but changes little how much CPU each request takes.
#
# Usage: bench/proxy/cpu_per_request.sh PID URL [SECONDS] [CONNS]
#   PID  the proxy process (user and system time from /proc/PID/stat)
#   URL  what wrk loads through that proxy
# Prints req/s and CPU µs per request (user + system). Interleave it between
# two proxies in the same run to compare them.
set -euo pipefail
pid=$1 url=$2 secs=${3:-3} conns=${4:-50}
tck=$(getconf CLK_TCK)
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
out=$(wrk -t1 -c"$conns" -d"${secs}s" "$url")
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
reqs=$(echo "$out" | awk '/requests in/ {print $1}')
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v t="$tck" -v n="$reqs" -v r="$rps" 'BEGIN {
	printf "%8.0f req/s  cpu/req %5.1f us (user %4.1f, system %4.1f)\n", r, (u + s) / t * 1e6 / n, u / t * 1e6 / n, s / t * 1e6 / n }'
