#!/usr/bin/env bash
# Archive search under load: 50 concurrent clients over loopback against `mmr serve`, on SQLite
# and then on PostgreSQL.
#
# Seeds (or reuses) an archive of MMR_BENCH_REPORTS (default 10,000) reports with
# `cargo bench --bench archive_search`, which also writes the query mix and the expected totals
# of a few queries. For each store: starts the release server (rate limit off: MMR_RATE_LIMIT=0;
# schedules off), waits for its search index (and prints how long building it took and the
# server's RSS then), checks those totals through the API, then runs a warm-up and RUNS measured
# wrk runs (-c50, DURATION, default 30s) cycling through the mix (benches/search.lua), and prints
# p50/p90/p99, requests per second and the server's RSS.
#
#     benches/search.sh
#     CARGO_TARGET_DIR=/work/target-release DURATION=30s benches/search.sh
#     WHAT=pages benches/search.sh
#
# WHAT=pages compares the web pages with the JSON API in the same run, back to back at 50 clients:
# the search page (`/reports?...`) against the API search (`/api/v1/archive?...`) over the same
# query mix, and the report page (`/reports/{id}`) against the JSON record
# (`/api/v1/archive/{id}`) over 600 published entries; then prints the pages' sizes.
#
# PostgreSQL: MMR_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) names a
# server and a database to connect to for creating the benchmark's database
# (mmr_bench_search_<N>, kept between runs like the SQLite file). STORES=sqlite or
# STORES=postgres runs one store only.
set -euo pipefail

cd "$(dirname "$0")/.."
REPORTS=${MMR_BENCH_REPORTS:-10000}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-5s}
STORES=${STORES:-sqlite postgres}
PORT=${PORT:-28517}
RUNS=${RUNS:-2}
WHAT=${WHAT:-api}
PG_ADMIN=${MMR_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT=$PWD/target/bench-search
BASE=http://127.0.0.1:$PORT
mkdir -p "$OUT"

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update && apt-get install -y wrk
    else
        echo "wrk is missing: install the Debian package wrk (apt-get install wrk)" >&2
        exit 1
    fi
fi
for tool in curl jq; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install $tool)" >&2; exit 1; }
done

server_pid=
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
trap stop_server EXIT

# A copy of this checkout's server, rebuilt when a source is newer than the copy. A target
# directory shared with another checkout of this crate holds its artifacts under the same names,
# and cargo's freshness check (file times) can take the other checkout's newer build for this
# one's: touching the crate roots forces a rebuild, and the copy is checked to be this version
# (it embeds the migration that came with the search index).
if [ ! -x "$OUT/mmr" ] || [ -n "$(find src migrations Cargo.lock -newer "$OUT/mmr" -print -quit)" ]; then
    for attempt in 1 2 3; do
        touch src/lib.rs src/main.rs
        if cargo build --release --locked --bin mmr; then
            cp "$CARGO_TARGET_DIR/release/mmr" "$OUT/mmr"
            grep -q drop_archive_search "$OUT/mmr" && break
        fi
        if [ "$attempt" = 3 ]; then
            echo "could not build this checkout's mmr in $CARGO_TARGET_DIR" >&2
            exit 1
        fi
    done
fi

# The database URL of a store, its database created when missing (PostgreSQL).
database_url() {
    case $1 in
        sqlite) echo "sqlite://$OUT/archive-$REPORTS.sqlite3" ;;
        postgres)
            local name=mmr_bench_search_$REPORTS
            if ! psql "$PG_ADMIN" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
                psql "$PG_ADMIN" -qc "CREATE DATABASE $name" >&2
            fi
            echo "${PG_ADMIN%/*}/$name"
            ;;
    esac
}

start_server() { # store url
    if curl -fsS "$BASE/healthz" >/dev/null 2>&1; then
        echo "another server answers on port $PORT: stop it, or set PORT" >&2
        exit 1
    fi
    MMR_DATABASE_URL=$2 MMR_DATA_DIR="$OUT/data-$1" MMR_ARCHIVE_URL="$OUT/archive-$1" \
        MMR_RATE_LIMIT=0 MMR_REMINDER_CRON= MMR_FIXITY_CRON= \
        MMR_BIND=127.0.0.1:$PORT RUST_LOG=warn \
        "$OUT/mmr" serve >"$OUT/server-$1.log" 2>&1 &
    server_pid=$!
    local started=$(date +%s%3N)
    for _ in $(seq 1500); do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            break
        fi
        # Ready with its index built.
        if [ "$(curl -fsS "$BASE/readyz" 2>/dev/null | jq '.search_index.entries > 0')" = true ]; then
            echo "$1: index of $(curl -fsS "$BASE/readyz" | jq -c .search_index) built $(($(date +%s%3N) - started)) ms after the start; server RSS $(($(ps -o rss= -p "$server_pid") / 1024)) MiB"
            return 0
        fi
        sleep 0.2
    done
    echo "the server did not become ready; see $OUT/server-$1.log" >&2
    exit 1
}

measure() { # label list-of-paths
    echo "$1, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ):"
    wrk -t2 -c50 -d"$DURATION" --timeout 10s -s benches/search.lua "$BASE" -- "$2" |
        grep -E 'RESULT|Non-2xx|Socket errors'
    echo "  server RSS $(($(ps -o rss= -p "$server_pid") / 1024)) MiB"
}

# The pages beside the API they show, in one run: each pair back to back, warmed up first.
compare_pages() { # store
    sed 's#^/api/v1/archive?#/reports?#' "$OUT/queries.txt" >"$OUT/queries-pages.txt"
    for page in 1 2 3; do
        curl -fsS "$BASE/api/v1/archive?per_page=200&page=$page" | jq -r '.items[].id'
    done >"$OUT/ids.txt"
    sed 's#^#/api/v1/archive/#' "$OUT/ids.txt" >"$OUT/records-api.txt"
    sed 's#^#/reports/#' "$OUT/ids.txt" >"$OUT/records-pages.txt"
    for pair in "search queries.txt queries-pages.txt" "report records-api.txt records-pages.txt"; do
        set -- $pair
        for list in "$2" "$3"; do
            wrk -t2 -c50 -d"$WARMUP" -s benches/search.lua "$BASE" -- "$OUT/$list" >/dev/null
        done
        for run in $(seq "$RUNS"); do
            measure "$store, $1, JSON API, run $run" "$OUT/$2"
            measure "$store, $1, page, run $run" "$OUT/$3"
        done
    done
    local id common
    id=$(head -n1 "$OUT/ids.txt")
    common=$(grep -m1 -o 'q=[a-z]*' "$OUT/queries.txt")
    for path in "/" "/reports" "/reports?$common" "/reports/$id" "/cities" "/fields"; do
        echo "  $path: $(curl -fsS -o /dev/null -w '%{size_download}' "$BASE$path") bytes of HTML"
    done
    local assets=0
    for asset in $(curl -fsS "$BASE/" | grep -o '/static/[^"]*\.\(css\|js\)'); do
        assets=$((assets + $(curl -fsS -o /dev/null -w '%{size_download}' "$BASE$asset")))
    done
    echo "  style sheet and script: $assets bytes"
}

for store in $STORES; do
    url=$(database_url "$store")
    MMR_BENCH_DATABASE_URL=$url MMR_BENCH_REPORTS=$REPORTS MMR_BENCH_OUT=$OUT \
        cargo bench --locked --bench archive_search
    if [ "$store" = postgres ]; then
        psql "$url" -qc "VACUUM ANALYZE" # what autovacuum does after the bulk load
    fi
    start_server "$store" "$url"
    while IFS=$'\t' read -r query expected; do
        got=$(curl -fsS "$BASE$query" | jq .total)
        if [ "$got" != "$expected" ]; then
            echo "$store: $query answered total $got, counted $expected" >&2
            exit 1
        fi
    done <"$OUT/checks.tsv"
    echo "$store: totals of $(wc -l <"$OUT/checks.tsv") queries match direct counts"
    if [ "$WHAT" = pages ]; then
        compare_pages "$store"
    else
        wrk -t2 -c50 -d"$WARMUP" -s benches/search.lua "$BASE" -- "$OUT/queries.txt" >/dev/null
        for run in $(seq "$RUNS"); do
            measure "$store, run $run" "$OUT/queries.txt"
        done
    fi
    stop_server
done
