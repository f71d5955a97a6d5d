#!/usr/bin/env bash
# Run reports and the dashboard at scale (issue 19). Usage:
# benches/dashboard.sh [RUNS] (release build; needs chromium and curl; median
# of RUNS, default 5).
#  1. The report of a 1,000-target, 10-step run (a dry run on the simulator):
#     how long drover takes to write it, its size, and how long headless
#     Chromium takes to load and draw it (a screenshot) against an empty page.
#  2. `drover serve` answering the run list of 1,000 recorded runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
source benches/lib.sh

dir=/tmp/drover-bench-dashboard
rm -rf "$dir" && mkdir -p "$dir/plans"
{
  echo "config:"
  echo "  transport: sim"
  echo "  sim: { latency: 2s }"
  echo "groups:"
  echo "  - name: fleet"
  echo "    targets:"
  for i in $(seq 1 1000); do echo "      - t$i"; done
} > "$dir/inventory.yaml"
cat > "$dir/plans/ten.plan" <<'PLAN'
plan ten() {
    foreach $i in range(1, 10) {
        run_command("step $i", "fleet");
    }
}
PLAN
cargo build --release --quiet
drover=$PWD/target/release/drover
cd "$dir"
echo "report of 1,000 targets x 10 steps: written in $(median "$drover" run ten --dry-run --report "$dir/report.html") s (dry run included), $(du -k "$dir/report.html" | cut -f1) KB"
echo '<!DOCTYPE html><html><body>empty</body></html>' > "$dir/empty.html"
shot() { chromium --headless --no-sandbox --disable-gpu --user-data-dir="$dir/profile" --window-size=1300,900 --screenshot="$dir/shot.png" "file://$1" >/dev/null 2>&1; }
echo "chromium: report loaded and drawn in $(median shot "$dir/report.html") s, an empty page in $(median shot "$dir/empty.html") s"

# 1,000 recorded runs: one real run copied under 1,000 ids.
cat > "$dir/plans/one.plan" <<'PLAN'
plan one() {
    run_command("true", "t1,t2,t3");
}
PLAN
"$drover" run one > /dev/null 2>&1
src=$(ls -d .drover/runs/* | head -1)
for i in $(seq -w 1 999); do
  cp -r "$src" ".drover/runs/20260101T000000${i}-1"
done
port=17411
"$drover" serve --listen 127.0.0.1:$port 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 1
list() { curl -fsS -o /dev/null "http://127.0.0.1:$port/"; }
echo "drover serve: the list of $(ls .drover/runs | wc -l) runs in $(median list) s ($(curl -fsS "http://127.0.0.1:$port/" | wc -c) bytes)"
