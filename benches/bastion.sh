#!/usr/bin/env bash
# Fleets behind a bastion: drover (one bastion connection for the whole run)
# against direct connections and against OpenSSH's ProxyJump (one bastion
# login per target), and 1,000 direct targets (wall time, peak memory).
# Needs root (network namespace, sshd). Prints a Markdown table;
# docs/benchmarks.md has the results.
#
#   benches/bastion.sh [RUNS]      (default 3 runs of each, the median is shown)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
. benches/lib.sh
behind=$(mktemp -d /tmp/drover-bastion-bench.XXXXXX)
direct=$(mktemp -d /tmp/drover-direct-bench.XXXXXX)
fleet=$(mktemp -d /tmp/drover-fleet-bench.XXXXXX)
trap 'for d in "$behind" "$direct" "$fleet"; do scripts/sshbed.sh stop "$d" >/dev/null 2>&1 || true; rm -rf "$d"; done' EXIT

cargo build --release -q
drover=$PWD/target/release/drover
scripts/sshbed.sh start-behind "$behind" 300 210 >/dev/null
scripts/sshbed.sh start "$direct" 300 16 211 >/dev/null
bastion=127.210.254.1

groups() { # bed -> inventory with groups of 100 and 300
  local bed=$1
  mapfile -t hosts < <(awk '{ print $3 }' "$bed/targets")
  sed -n '1,/^groups:/p' "$bed/inventory.yaml"
  for n in 100 300; do
    echo "  - name: bed$n"
    echo "    targets:"
    for h in "${hosts[@]:0:$n}"; do echo "      - $h"; done
  done
}
groups "$behind" > "$behind/bench.yaml"
groups "$direct" > "$direct/bench.yaml"
mapfile -t inside < <(awk '{ print $3 }' "$behind/targets")
cat > "$behind/ten.plan" <<'PLAN'
plan ten(TargetSpec $targets) {
    foreach $i in range(1, 10) { run_command("true", $targets); }
}
PLAN

# OpenSSH through the same bastion, curve25519 as russh negotiates.
ssh_config "$behind/ssh_config" "$behind" "KexAlgorithms curve25519-sha256"

jump() { # count command: OpenSSH ProxyJump, 100 at once; prints failures
  printf '%s\n' "${inside[@]:0:$1}" |
    xargs -P 100 -I{} sh -c "ssh -F $behind/ssh_config -J $bastion:2222 {} '$2' >/dev/null 2>&1 || echo x" | wc -l
}
logins() { grep -c '^Accepted ' "$behind/bastion-0.log" || true; }

echo "| job | drover via bastion | drover direct | OpenSSH ProxyJump, xargs -P 100 |"
echo "|---|---|---|---|"
for n in 100 300; do
  before=$(logins)
  b=$(median "$drover" command run true -t "bed$n" -i "$behind/bench.yaml")
  per_run=$(( ($(logins) - before) / runs ))
  d=$(median "$drover" command run true -t "bed$n" -i "$direct/bench.yaml")
  before=$(logins)
  o=$(median jump "$n" true)
  failed=$(jump "$n" true)
  jumps=$(( ($(logins) - before) / (runs + 1) ))
  echo "| \`true\` on $n targets | ${b} s ($per_run bastion login) | ${d} s | ${o} s ($jumps bastion logins, $failed of $n failed in one more run) |"
done
b=$(median "$drover" run "$behind/ten.plan" targets=bed100 -i "$behind/bench.yaml")
d=$(median "$drover" run "$behind/ten.plan" targets=bed100 -i "$direct/bench.yaml")
o=$(median bash -c "$(declare -f jump); behind=$behind bastion=$bastion; inside=(${inside[*]:0:100}); for i in 1 2 3 4 5 6 7 8 9 10; do jump 100 true; done")
echo "| 10 sequential \`true\` on 100 targets | ${b} s | ${d} s | ${o} s |"

# 1,000 direct targets, default settings.
scripts/sshbed.sh stop "$direct" >/dev/null
scripts/sshbed.sh start "$fleet" 1000 16 212 >/dev/null
t0=$(now)
peak=$(/usr/bin/time -f %M "$drover" command run true -t bed -i "$fleet/inventory.yaml" 2>&1 >/dev/null | tail -1)
t=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
echo
echo "\`true\` on 1,000 direct targets (63 sshd): ${t} s, peak memory (max RSS) $((peak / 1024)) MB"
