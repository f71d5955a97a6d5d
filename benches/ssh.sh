#!/usr/bin/env bash
# drover's ssh transport against plain OpenSSH, side by side in one run, on the
# SSH test bed (scripts/sshbed.sh: 300 loopback targets, 19 sshd processes).
# Needs root. Prints a Markdown table; docs/benchmarks.md has the results.
#
#   benches/ssh.sh [RUNS]      (default 3 runs of each, the median is shown)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
. benches/lib.sh
bed=$(mktemp -d /tmp/drover-ssh-bench.XXXXXX)
trap 'scripts/sshbed.sh stop "$bed" >/dev/null 2>&1 || true; rm -rf "$bed"' EXIT

cargo build --release -q
drover=$PWD/target/release/drover
scripts/sshbed.sh start "$bed" 300 16 200 >/dev/null
mapfile -t hosts < <(awk '{ print $3 }' "$bed/targets")

# Groups of 100 and 300 targets for drover.
{
  sed -n '1,/^groups:/p' "$bed/inventory.yaml"
  for n in 100 300; do
    echo "  - name: bed$n"
    echo "    targets:"
    for h in "${hosts[@]:0:$n}"; do echo "      - $h"; done
  done
} > "$bed/bench.yaml"
cat > "$bed/ten.plan" <<'EOF'
plan ten(TargetSpec $targets) {
    foreach $i in range(1, 10) { run_command("true", $targets); }
}
EOF

# OpenSSH with the same user, key and known hosts; the third argument picks
# the exchange.
ssh_config "$bed/ssh_default" "$bed"
ssh_config "$bed/ssh_curve" "$bed" "KexAlgorithms curve25519-sha256"
ssh_config "$bed/ssh_master" "$bed" "ControlMaster auto
  ControlPath $bed/cm-%h
  ControlPersist 120
  KexAlgorithms curve25519-sha256"

xargs_ssh() { # config count command
  printf '%s\n' "${hosts[@]:0:$2}" | xargs -P 100 -I{} ssh -F "$1" {} "$3"
}
ten_master() { # 10 sequential rounds over 100 targets, masters set up first
  ssh_master_stop
  for ((i = 0; i < 10; i++)); do xargs_ssh "$bed/ssh_master" 100 true; done
}
ssh_master_stop() {
  for h in "${hosts[@]:0:100}"; do ssh -F "$bed/ssh_master" -O exit "$h" >/dev/null 2>&1 || true; done
}

echo "| job | drover | OpenSSH xargs -P 100 (sntrup761x25519, default) | OpenSSH xargs -P 100 (curve25519) | OpenSSH ControlMaster (curve25519) |"
echo "|---|---|---|---|---|"
for n in 100 300; do
  d=$(median "$drover" command run true -t "bed$n" -i "$bed/bench.yaml")
  o=$(median xargs_ssh "$bed/ssh_default" "$n" true)
  c=$(median xargs_ssh "$bed/ssh_curve" "$n" true)
  echo "| \`true\` on $n targets | ${d} s | ${o} s | ${c} s | – |"
done
d=$(median "$drover" run "$bed/ten.plan" targets=bed100 -i "$bed/bench.yaml")
o=$(median bash -c "for i in 1 2 3 4 5 6 7 8 9 10; do printf '%s\n' ${hosts[*]:0:100} | xargs -P 100 -I{} ssh -F $bed/ssh_curve {} true; done")
m=$(median ten_master)
ssh_master_stop
echo "| 10 sequential \`true\` on 100 targets | ${d} s | – | ${o} s | ${m} s |"
# Uploads: exec with the file on stdin (drover) against scp (SFTP in OpenSSH 9).
head -c 200000000 /dev/urandom > "$bed/big.bin"
echo "plan up() { upload_file(\"$bed/big.bin\", \"/tmp/drover-bench-upload\", \"${hosts[0]}\"); }" > "$bed/up.plan"
d=$(median "$drover" run "$bed/up.plan" -i "$bed/bench.yaml")
o=$(median scp -q -F "$bed/ssh_curve" "$bed/big.bin" "${hosts[0]}:/tmp/drover-bench-scp")
ssh -F "$bed/ssh_curve" "${hosts[0]}" 'rm -f /tmp/drover-bench-upload /tmp/drover-bench-scp'
echo "| upload 200 MB to one target | ${d} s | – | ${o} s (scp, SFTP) | – |"
peak=$(/usr/bin/time -f %M "$drover" command run true -t bed300 -i "$bed/bench.yaml" 2>&1 >/dev/null | tail -1)
echo
echo "drover's peak memory (max RSS) for \`true\` on 300 targets: $((peak / 1024)) MB"
echo "sshd handshakes drover made in the last run set: see $bed/sshd-*.log"
