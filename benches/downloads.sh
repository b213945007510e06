#!/usr/bin/env bash
# Archive download throughput (issue #6): `GET /api/v1/archive/{id}/pdf` from `mmr serve` against
# nginx serving the very same stored file from disk, measured side by side in one run with wrk.
#
# What it does: builds `mmr` (release, in ${CARGO_TARGET_DIR:-target}); makes a data directory in
# a temporary directory; migrates, imports demo/cities.csv and creates a Secretariat and a city
# token; starts `mmr serve` (MMR_RATE_LIMIT=0: the benchmark's single address would otherwise be
# rate limited as an anonymous caller; the cron jobs are off); puts ONE report through the real
# API (a draft with two incompressible PNG images so the archived PDF is about 2 MB, submitted,
# accepted by the Secretariat, hence published); starts nginx (sendfile on, access_log off, one
# worker per core) with its root on the archive store's objects directory; checks that both
# answer 200 with the same bytes, whose SHA-256 is the file's name; then, per concurrency, warms
# both up and runs wrk against nginx and mmr alternately, ROUNDS times each, and prints the
# median req/s, MB/s (10^6 bytes), latency p50/p99 and the mmr/nginx ratio of the medians, and
# at the end mmr's peak RSS (VmHWM).
#
# Usage: benches/downloads.sh            (as root it installs wrk, nginx and curl when missing)
# Settings (environment): DURATION (s per run, 10), ROUNDS (3), CONNECTIONS ("16 64"),
# THREADS (wrk threads, the number of cores), WARMUP (s, 3), MMR_PORT (18080), NGINX_PORT (18081).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-16 64}
CORES=$(nproc)
THREADS=${THREADS:-$CORES}
WARMUP=${WARMUP:-3}
MMR_PORT=${MMR_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

# need COMMAND PACKAGE: installs the Debian package when the command is missing (as root), or
# names it and stops.
need() {
    command -v "$1" >/dev/null && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "downloads.sh: installing $2" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >/dev/null
    else
        echo "downloads.sh: missing $1: install the Debian package $2" >&2
        exit 1
    fi
}
need wrk wrk
need nginx nginx-light
need curl curl
need python3 python3
NGINX=$(command -v nginx)

cd "$ROOT"
cargo build --release --locked --bin mmr
WORK=$(mktemp -d)
# nginx's workers may run as another user: they must reach the store through this directory.
chmod 755 "$WORK"
# A copy, so that another build in a shared target directory cannot swap the binary under the run.
MMR_BIN=$WORK/mmr
cp "$CARGO_TARGET_DIR/release/mmr" "$MMR_BIN"
MMR_PID=
cleanup() {
    [ -n "$MMR_PID" ] && kill "$MMR_PID" 2>/dev/null && wait "$MMR_PID" 2>/dev/null
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null && sleep 0.5
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mmr() { "$MMR_BIN" --data-dir "$WORK/data" "$@"; }
mkdir -p "$WORK/data"
mmr migrate >/dev/null 2>&1
mmr cities import demo/cities.csv >/dev/null 2>&1
ADMIN=$(mmr token create --role secretariat --name bench 2>/dev/null)
CITY=$(mmr token create --role city --city ostersund --name "Östersund" 2>/dev/null)

MMR_RATE_LIMIT=0 MMR_REMINDER_CRON= MMR_FIXITY_CRON= \
    "$MMR_BIN" --data-dir "$WORK/data" serve --bind "127.0.0.1:$MMR_PORT" >"$WORK/mmr.log" 2>&1 &
MMR_PID=$!
API="http://127.0.0.1:$MMR_PORT/api/v1"
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$MMR_PORT/healthz" >/dev/null && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$MMR_PORT/healthz" >/dev/null || { cat "$WORK/mmr.log"; exit 1; }

# Two 600x600 PNGs of random RGB pixels: about 1 MB each in the PDF whatever it compresses with.
python3 - "$WORK" <<'EOF'
import os, struct, sys, zlib
def png(path, w, h):
    raw = b"".join(b"\0" + os.urandom(w * 3) for _ in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
for name in ("map.png", "photo.png"):
    png(os.path.join(sys.argv[1], name), 600, 600)
EOF
cat >"$WORK/report.md" <<'EOF'
# Executive Summary

Östersund kept food at the heart of its plans.

![A market day](photo.png)

# General Information

Focal point: the culture office.

# Contribution to the Network's Global Management

We hosted the 2025 field meeting.

# Major Initiatives Implemented at the Local Level

![Map of the food trail](map.png)

# Major Initiatives Implemented through Inter-City Cooperation

Exchanges with Parma and Tucson.
EOF
cat >"$WORK/plan.md" <<'EOF'
# Proposed Action Plan for the Forthcoming Four-Year Period

## Local Initiatives

A school garden programme.

## International and Inter-City Initiatives

A chefs' exchange.

## Budget

| item | EUR |
|---|---|
| gardens | 120000 |

## Communication and Awareness Plan

A yearly food festival.
EOF

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
CYCLE=$(curl -sf -H "Authorization: Bearer $CITY" "$API/cities/ostersund/cycles" |
    json '[c["id"] for c in d["items"] if c["status"] in ("open", "overdue")][0]')
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $CITY" \
    -F "report=@$WORK/report.md;type=text/markdown" -F "action_plan=@$WORK/plan.md;type=text/markdown" \
    -F "attachment=@$WORK/map.png;type=image/png" -F "attachment=@$WORK/photo.png;type=image/png" \
    "$API/cycles/$CYCLE/draft"
SUB=$(curl -sf -X POST -H "Authorization: Bearer $CITY" "$API/cycles/$CYCLE/submissions" | json 'd["id"]')
ARCHIVE=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"decision":"accept"}' "$API/submissions/$SUB/decision" | json 'd["archive_id"]')
SHA=$(curl -sf "$API/archive/$ARCHIVE" | json 'd["pdf"]["sha256"]')
MMR_URL="$API/archive/$ARCHIVE/pdf"
NGINX_URL="http://127.0.0.1:$NGINX_PORT/${SHA:0:2}/${SHA:2:2}/$SHA"

mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<EOF
worker_processes $CORES;
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    default_type application/pdf;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/data/archive/objects;
    }
}
EOF
"$NGINX" -q -c "$WORK/nginx.conf" -e "$WORK/nginx/error.log"

for url in "$MMR_URL" "$NGINX_URL"; do
    code=$(curl -s -o "$WORK/check.pdf" -w '%{http_code}' "$url")
    got=$(sha256sum "$WORK/check.pdf" | cut -d' ' -f1)
    [ "$code" = 200 ] && [ "$got" = "$SHA" ] || { echo "$url: HTTP $code, SHA-256 $got, expected 200 and $SHA" >&2; exit 1; }
done
SIZE=$(stat -c %s "$WORK/check.pdf")

# wrk prints one machine-readable line per run: requests, bytes, seconds, p50 and p99 in ms, errors.
cat >"$WORK/report.lua" <<'EOF'
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT %d %d %.3f %.3f %.3f %d\n", summary.requests, summary.bytes,
        summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
        e.connect + e.read + e.write + e.status + e.timeout))
end
EOF
run() { # run SERVER URL CONNECTIONS SECONDS
    wrk -t "$THREADS" -c "$3" -d "$4s" --latency -s "$WORK/report.lua" "$2" | grep '^RESULT' | sed "s/^RESULT/$1 $3/"
}

echo
echo "Archive download: $SIZE-byte PDF, sha256 $SHA"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $CORES cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
    "wrk -t$THREADS, ${DURATION}s x $ROUNDS rounds each, MMR_RATE_LIMIT=0"
: >"$WORK/results"
for c in $CONNECTIONS; do
    run nginx "$NGINX_URL" "$c" "$WARMUP" >/dev/null
    run mmr "$MMR_URL" "$c" "$WARMUP" >/dev/null
    for _ in $(seq "$ROUNDS"); do
        run nginx "$NGINX_URL" "$c" "$DURATION" >>"$WORK/results"
        run mmr "$MMR_URL" "$c" "$DURATION" >>"$WORK/results"
    done
done

python3 - "$WORK/results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print()
print("| connections | server | req/s | MB/s | p50 ms | p99 ms | errors | req/s of each round |")
print("|---|---|---|---|---|---|---|---|")
ratios = []
for c in dict.fromkeys(r[1] for r in rows):
    med = {}
    for server in ("nginx", "mmr"):
        runs = [r for r in rows if r[0] == server and r[1] == c]
        rps = [int(r[2]) / float(r[4]) for r in runs]
        mbs = [int(r[3]) / float(r[4]) / 1e6 for r in runs]
        med[server] = statistics.median(rps)
        print(f"| {c} | {server} | {med[server]:.0f} | {statistics.median(mbs):.0f} "
              f"| {statistics.median(float(r[5]) for r in runs):.2f} | {statistics.median(float(r[6]) for r in runs):.2f} "
              f"| {sum(int(r[7]) for r in runs)} | {', '.join(f'{x:.0f}' for x in rps)} |")
    ratios.append((c, med["mmr"] / med["nginx"]))
print()
for c, ratio in ratios:
    print(f"mmr/nginx at {c} connections (median req/s): {ratio:.0%}")
EOF
echo "mmr peak RSS (VmHWM): $(awk '/VmHWM/ {print $2, $3}' "/proc/$MMR_PID/status")"
