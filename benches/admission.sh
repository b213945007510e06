#!/usr/bin/env bash
# Render admission (issue: "Rendering has no budget"): what `mmr serve` does with hopeless and
# large previews fired at once, and with `/verify`, measured on the release server.
#
# What it does: builds `mmr` (release, in ${CARGO_TARGET_DIR:-target}); makes a data directory in
# a temporary directory; migrates, imports demo/cities.csv, creates a Secretariat token per
# concurrent client (a token has one preview at a time) and a city token; starts `mmr serve`
# (MMR_RATE_LIMIT=0, MMR_PREVIEW_RATE=1000 so that only the render gate is measured; cron jobs
# off; MMR_RENDER_CONCURRENCY and MMR_RENDER_QUEUE_SECS as given, else the defaults); then, while
# sampling the server's RSS from /proc every 10 ms:
#   1. one hopeless preview (HOPELESS one-letter headings, 4 MB of Markdown): status, code, time;
#      then three at once;
#   2. CLIENTS previews at once of a PAGES-page report (gen_report.py): statuses, time of each,
#      wall time, peak RSS, and RSS 2 s after the last answer;
#   3. a VERIFY_PAGES-page report submitted and accepted (archived), then four `/verify` at once
#      (the first ones render, under the gate), then four more (answered from the stored verdict).
# Prints one line per measurement.
#
# Usage: benches/admission.sh
# Settings (environment): CLIENTS (8), PAGES (500), VERIFY_PAGES (1000), HOPELESS (1000000),
# MMR_PORT (18090), MMR_RENDER_CONCURRENCY, MMR_RENDER_QUEUE_SECS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLIENTS=${CLIENTS:-8}
PAGES=${PAGES:-500}
VERIFY_PAGES=${VERIFY_PAGES:-1000}
HOPELESS=${HOPELESS:-1000000}
MMR_PORT=${MMR_PORT:-18090}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
GEN=${GEN_REPORT:-$ROOT/../../shared/bench/gen_report.py}
[ -f "$GEN" ] || GEN=/work/shared/bench/gen_report.py

cd "$ROOT"
cargo build --release --locked --bin mmr
WORK=$(mktemp -d)
MMR_BIN=$WORK/mmr
cp "$CARGO_TARGET_DIR/release/mmr" "$MMR_BIN"
MMR_PID=
cleanup() {
    [ -n "$MMR_PID" ] && kill "$MMR_PID" 2>/dev/null && wait "$MMR_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mmr() { "$MMR_BIN" --data-dir "$WORK/data" "$@"; }
mkdir -p "$WORK/data"
mmr migrate >/dev/null 2>&1
mmr cities import demo/cities.csv >/dev/null 2>&1
for i in $(seq "$CLIENTS"); do
    mmr token create --role secretariat --name "bench $i" 2>/dev/null
done >"$WORK/tokens"
CITY=$(mmr token create --role city --city ostersund --name "Östersund" 2>/dev/null)

MMR_RATE_LIMIT=0 MMR_PREVIEW_RATE=1000 MMR_REMINDER_CRON= MMR_FIXITY_CRON= \
    "$MMR_BIN" --data-dir "$WORK/data" serve --bind "127.0.0.1:$MMR_PORT" >"$WORK/mmr.log" 2>&1 &
MMR_PID=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$MMR_PORT/healthz" >/dev/null && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$MMR_PORT/healthz" >/dev/null || { cat "$WORK/mmr.log"; exit 1; }

python3 "$GEN" --pages "$PAGES" --seed 1 --out "$WORK/big.md"
python3 "$GEN" --pages "$VERIFY_PAGES" --seed 2 --out "$WORK/verify.md"

python3 - "$MMR_PID" "http://127.0.0.1:$MMR_PORT/api/v1" "$WORK" "$CITY" "$HOPELESS" <<'EOF'
import json, sys, threading, time, urllib.error, urllib.request

pid, api, work, city, hopeless_n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
tokens = open(f"{work}/tokens").read().split()
plan = ("# Proposed Action Plan for the Forthcoming Four-Year Period\n\n## Local Initiatives\n\nGardens.\n\n"
        "## International and Inter-City Initiatives\n\nExchanges.\n\n## Budget\n\n| item | EUR |\n|---|---|\n"
        "| gardens | 120000 |\n\n## Communication and Awareness Plan\n\nA festival.\n")

def rss_mb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0

class Sampler:
    def __enter__(self):
        self.peak, self.running = rss_mb(), True
        def run():
            while self.running:
                self.peak = max(self.peak, rss_mb())
                time.sleep(0.01)
        self.thread = threading.Thread(target=run)
        self.thread.start()
        return self
    def __exit__(self, *_):
        self.running = False
        self.thread.join()

def call(method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(api + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            status, payload = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, payload = e.code, e.read()
    return status, payload, time.monotonic() - start

def at_once(jobs):
    out = [None] * len(jobs)
    def one(i, job):
        out[i] = call(*job)
    threads = [threading.Thread(target=one, args=(i, j)) for i, j in enumerate(jobs)]
    start = time.monotonic()
    for t in threads: t.start()
    for t in threads: t.join()
    return out, time.monotonic() - start

def code(payload):
    try:
        e = json.loads(payload)["error"]
        return f'{e["code"]}: {e["message"][:90]}'
    except Exception:
        return f"{len(payload)} bytes"

print(f"server RSS at start: {rss_mb():.0f} MB")

# 1. Hopeless previews.
hopeless = {"report_markdown": "# a\n" * hopeless_n, "action_plan_markdown": plan}
with Sampler() as s:
    status, payload, took = call("POST", "/preview", tokens[0], hopeless)
print(f"hopeless preview ({hopeless_n} headings, {len(hopeless['report_markdown'])} bytes): "
      f"HTTP {status} in {took * 1000:.0f} ms ({code(payload)}); peak RSS {s.peak:.0f} MB")
with Sampler() as s:
    answers, wall = at_once([("POST", "/preview", t, hopeless) for t in tokens[:3]])
print(f"3 hopeless previews at once: HTTP {sorted(a[0] for a in answers)}, slowest "
      f"{max(a[2] for a in answers) * 1000:.0f} ms, wall {wall * 1000:.0f} ms; peak RSS {s.peak:.0f} MB")

# 2. Large previews at once.
big = {"report_markdown": open(f"{work}/big.md").read(), "action_plan_markdown": plan}
status, payload, took = call("POST", "/preview", tokens[0], big)
print(f"one preview of big.md ({len(big['report_markdown'])} bytes): HTTP {status}, {len(payload)} bytes of PDF, "
      f"{took:.2f} s; RSS after {rss_mb():.0f} MB")
time.sleep(1)
before = rss_mb()
with Sampler() as s:
    answers, wall = at_once([("POST", "/preview", t, big) for t in tokens])
time.sleep(2)
statuses = {}
for a in answers:
    statuses[a[0]] = statuses.get(a[0], 0) + 1
times = sorted(a[2] for a in answers)
print(f"{len(tokens)} previews of big.md at once: {statuses}, fastest {times[0]:.2f} s, slowest {times[-1]:.2f} s, "
      f"wall {wall:.2f} s; RSS before {before:.0f} MB, peak {s.peak:.0f} MB, 2 s after {rss_mb():.0f} MB")
busy = [a for a in answers if a[0] == 503]
if busy:
    print(f"  refused: {code(busy[0][1])}")

# 3. /verify of an archived report.
# gen_report.py's headings differ from the template's: its required sections are appended.
report = open(f"{work}/verify.md").read() + (
    "\n# Executive Summary\n\nSummary.\n\n# General Information\n\nThe culture office.\n\n"
    "# Contribution to the Network's Global Management\n\nA meeting.\n\n"
    "# Major Initiatives Implemented at the Local Level\n\nA trail.\n\n"
    "# Major Initiatives Implemented through Inter-City Cooperation\n\nExchanges.\n")
cycles = json.loads(call("GET", "/cities/ostersund/cycles", city)[1])
cycle = [c["id"] for c in cycles["items"] if c["status"] in ("open", "overdue")][0]
status, payload, took = call("POST", f"/cycles/{cycle}/submissions", city,
                             {"report_markdown": report, "action_plan_markdown": plan})
if status != 201:
    print(f"/verify: the {len(report)}-byte report was not taken ({status}: {code(payload)}); skipped")
    sys.exit(0)
sub = json.loads(payload)["id"]
status, payload, took = call("POST", f"/submissions/{sub}/decision", tokens[0], {"decision": "accept"})
archive = json.loads(payload)["archive_id"]
print(f"accepted and archived a {len(report)}-byte report in {took:.2f} s (archive {archive})")
time.sleep(1)
for round in ("first (renders)", "again (stored verdict)"):
    before = rss_mb()
    with Sampler() as s:
        answers, wall = at_once([("GET", f"/archive/{archive}/verify", None, None)] * 4)
    cached = [json.loads(a[1]).get("cached") for a in answers if a[0] == 200]
    print(f"4 /verify at once, {round}: HTTP {sorted(a[0] for a in answers)}, cached {cached}, "
          f"slowest {max(a[2] for a in answers):.2f} s; RSS before {before:.0f} MB, peak {s.peak:.0f} MB, "
          f"after {rss_mb():.0f} MB")
EOF
