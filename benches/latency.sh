#!/usr/bin/env bash
# drover against OpenSSH ControlMaster (and Ansible and pyinfra when they are
# installed: put them on PATH, e.g. a venv with ansible-core and pyinfra) over a
# network with latency: 100 targets of the SSH test bed, each behind the
# tests' latency proxy (tests/common/latency.rs, built as the latency_proxy
# example) at 0, 10 and 50 ms RTT. The work: 10 sequential `true`, then 3
# calls of a task with a helper file. Needs root. Prints a Markdown table;
# docs/benchmarks.md has the results.
#
#   [TARGETS=N] benches/latency.sh [RUNS] [RTT_MS...]   (default 100 targets,
#   3 runs, 0 10 50 ms)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
. benches/lib.sh
rtts=("${@:-0 10 50}")
read -r -a rtts <<< "${rtts[*]}"
n=${TARGETS:-100}
bed=$(mktemp -d /tmp/drover-rtt-bench.XXXXXX)
proxy_pid=
stop_proxy() {
  if [ -n "$proxy_pid" ]; then kill -TERM "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
  proxy_pid=
}
trap 'stop_proxy; scripts/sshbed.sh stop "$bed" >/dev/null 2>&1 || true; rm -rf "$bed"' EXIT

cargo build --release -q --bin drover --example latency_proxy
drover=$PWD/target/release/drover
proxy=$PWD/target/release/examples/latency_proxy
# sshd on 2223; the proxy on 2222 in front of it, where the inventory points.
SSHBED_SSHD_PORT=2223 scripts/sshbed.sh start "$bed" "$n" 16 210 >/dev/null
mapfile -t hosts < <(awk '{ print $3 }' "$bed/targets")

start_proxy() { # rtt_ms
  stop_proxy
  coproc PROXY { exec "$proxy" "$1" 2222 2223 "${hosts[@]}"; }
  proxy_pid=$PROXY_PID
  read -r ready <&"${PROXY[0]}"
  [ "$ready" = ready ] || { echo "latency proxy did not start" >&2; exit 1; }
}

# A project with a task that has a helper file (Bolt's `files`).
project=$bed/project
mkdir -p "$project/modules/bench/tasks" "$project/modules/bench/files" "$project/plans"
cp "$bed/inventory.yaml" "$project/inventory.yaml"
cat > "$project/modules/bench/files/lib.sh" <<'EOF'
greet() { printf '{"greeting": "hello %s"}\n' "$1"; }
EOF
cat > "$project/modules/bench/tasks/hello.json" <<'EOF'
{"description": "Greets through a helper file", "input_method": "environment",
 "parameters": {"name": {"type": "String"}},
 "files": ["bench/files/lib.sh"]}
EOF
cat > "$project/modules/bench/tasks/hello.sh" <<'EOF'
#!/bin/sh
. "$PT__installdir/bench/files/lib.sh"
greet "$PT_name"
EOF
cat > "$project/plans/ten.plan" <<'EOF'
plan ten(TargetSpec $targets) {
    foreach $i in range(1, 10) { run_command("true", $targets); }
}
EOF
cat > "$project/plans/work.plan" <<'EOF'
plan work(TargetSpec $targets) {
    foreach $i in range(1, 10) { run_command("true", $targets); }
    foreach $i in range(1, 3) { run_task("bench::hello", $targets, name => "x${i}"); }
}
EOF

ssh_config "$bed/ssh_master" "$bed" "KexAlgorithms curve25519-sha256
  ControlMaster auto
  ControlPath $bed/cm-%h
  ControlPersist 120"
# OpenSSH's best case for the same work: one master connection per host,
# 10 sequential `true`, then each task call as one hand-written pipeline
# (tar the two files, make a private directory, run, remove it).
openssh_host() { # host
  local h=$1 i
  for i in 1 2 3 4 5 6 7 8 9 10; do ssh -F "$bed/ssh_master" "$h" true; done
  for i in 1 2 3; do
    tar -C "$project/modules" -cf - bench/tasks/hello.sh bench/files/lib.sh |
      ssh -F "$bed/ssh_master" "$h" \
        "d=\$(mktemp -d) && tar -xf - -C \$d && PT_name=x$i PT__installdir=\$d sh \$d/bench/tasks/hello.sh; rm -rf \$d" >/dev/null
  done
}
export -f openssh_host
export bed project
openssh() {
  printf '%s\n' "${hosts[@]}" | xargs -P "$n" -I{} bash -c 'openssh_host {}'
  # Masters close so that the next run connects again, as drover does.
  printf '%s\n' "${hosts[@]}" | xargs -P "$n" -I{} ssh -F "$bed/ssh_master" -O exit {} 2>/dev/null || true
}

# Ansible and pyinfra run the task as one script with the helper inlined
# (their `script` sends one file): less work than drover's two files.
{ echo '#!/bin/sh'; cat "$project/modules/bench/files/lib.sh"
  sed '/^#!/d; s|^\. .*|:|' "$project/modules/bench/tasks/hello.sh"; } > "$bed/hello-all.sh"
chmod +x "$bed/hello-all.sh"
ansible_run() {
  printf '[bed]\n' > "$bed/hosts.ini"
  printf '%s\n' "${hosts[@]}" >> "$bed/hosts.ini"
  cat > "$bed/play.yml" <<EOF
- hosts: bed
  gather_facts: false
  tasks:
$(for i in 1 2 3 4 5 6 7 8 9 10; do printf '    - command: "true"\n'; done)
$(for i in 1 2 3; do printf '    - script: %s/hello-all.sh\n      environment: {PT_name: x%s}\n' "$bed" "$i"; done)
EOF
  ANSIBLE_PIPELINING=1 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_REMOTE_TMP=/tmp ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
    ANSIBLE_SSH_ARGS="-F $bed/ssh_master" \
    ansible-playbook -f "$n" -i "$bed/hosts.ini" "$bed/play.yml"
}
pyinfra_run() {
  { printf 'bed = ['; printf '"%s", ' "${hosts[@]}"; printf ']\n'; } > "$bed/pyinfra_inventory.py"
  cat > "$bed/deploy.py" <<EOF
from pyinfra.operations import server
for i in range(1, 11):
    server.shell(name=f"true {i}", commands=["true"])
for i in range(1, 4):
    server.script(name=f"hello {i}", src="$bed/hello-all.sh", _env={"PT_name": f"x{i}"})
EOF
  pyinfra -y --parallel "$n" --ssh-user drover-test --ssh-port 2222 \
    --ssh-key "$bed/keys/id_ed25519" --data ssh_known_hosts_file="$bed/known_hosts" \
    "$bed/pyinfra_inventory.py" "$bed/deploy.py"
}
# "not installed", or the median of $runs runs of "$2"
if_installed() { # program function
  if command -v "$1" >/dev/null; then printf '%s s' "$(median "$2")"; else echo "not installed"; fi
}

drover_run() { # plan
  (cd "$project" && "$drover" run "$1" targets=bed -i inventory.yaml --concurrency "$n" --format json)
}
handshake() { # every target, one `true`: the connections and one exec each
  (cd "$project" && "$drover" command run true -t bed -i inventory.yaml --format json)
}

echo "| RTT | drover: connect + 1 | drover: 10 \`true\` (÷ goal) | drover: 10 \`true\` + 3 tasks | OpenSSH ControlMaster | Ansible (pipelining, ControlPersist) | pyinfra | ControlMaster ÷ drover |"
echo "|---|---|---|---|---|---|---|---|"
for rtt in "${rtts[@]}"; do
  start_proxy "$rtt"
  one=$(median handshake)
  ten=$(median drover_run ten)
  work=$(median drover_run work)
  cm=$(median openssh)
  ans=$(if_installed ansible-playbook ansible_run)
  pyi=$(if_installed pyinfra pyinfra_run)
  # The goal for ten steps: 1.2 × (connect + 1, then 9 more round trips).
  goal=$(awk -v one="$one" -v rtt="$rtt" 'BEGIN { print 1.2 * (one + 9 * rtt / 1000) }')
  printf '| %s ms | %.2f s | %.2f s (%.2f) | %.2f s | %.2f s | %s | %s | %.1f× |\n' \
    "$rtt" "$one" "$ten" "$(awk -v a="$ten" -v b="$goal" 'BEGIN { print a / b }')" "$work" "$cm" "$ans" "$pyi" \
    "$(awk -v a="$cm" -v b="$work" 'BEGIN { print a / b }')"
done
stop_proxy

# The proxy's own cost: drover's ten steps straight to sshd (port 2223)
# against through the proxy at 0 ms.
sed 's/port: 2222/port: 2223/' "$project/inventory.yaml" > "$project/direct.yaml"
sed 's/\]:2222 /]:2223 /' "$bed/known_hosts" > "$bed/known_hosts.direct"
cat "$bed/known_hosts.direct" >> "$bed/known_hosts"
direct=$(median bash -c "cd '$project' && '$drover' run ten targets=bed -i direct.yaml --concurrency $n --format json")
start_proxy 0
proxied=$(median drover_run ten)
stop_proxy
printf '\nproxy overhead (drover, 10 `true` on %s targets): direct %.2f s, through the proxy at 0 ms %.2f s\n' "$n" "$direct" "$proxied"
