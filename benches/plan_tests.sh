#!/usr/bin/env bash
# `drover test` at scale (issue 18): 200 tests of the standard library's
# rolling reboot (reboot::rolling) over 50 stubbed servers behind one load
# balancer, every task and command stubbed, on virtual time. Goal: under 1 s
# for all 200 on this machine. Usage: benches/plan_tests.sh [RUNS] (release
# build; prints the median wall time of RUNS runs, default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
source benches/lib.sh

dir=/tmp/drover-bench-plan-tests
rm -rf "$dir" && mkdir -p "$dir"
{
  echo "groups:"
  echo "  - name: web"
  echo "    targets: [$(seq -s, -f 'web%g' 1 50 | sed 's/,/, /g')]"
  echo "  - name: lb"
  echo "    targets: [lb01]"
} > "$dir/inventory.yaml"

# Every test stubs the load balancer's tasks, the reboot, and each server's
# boot id ("old" once, then "new"); a fifth of them make one server fail to
# come back and expect the rollout to stop; the batch size varies.
for ((i = 0; i < 200; i++)); do
  batch=$((1 + i % 10))
  cat <<TEST
test "rolling reboot $i: batches of $batch" {
    foreach \$t in ["haproxy::drain", "haproxy::disable", "haproxy::enable"] {
        stub_task(\$t, value => {}, duration => 2s);
    }
    stub_task("haproxy::status", value => { status => "UP" });
    stub_task("reboot", value => {}, duration => 5s);
    stub_wait_up(duration => 45s);
    stub_command("cat /proc/sys/kernel/random/boot_id", stdout => "new\n");
    foreach \$n in get_targets("web") {
        stub_command("cat /proc/sys/kernel/random/boot_id", stdout => "old\n", targets => \$n, times => 1);
    }
TEST
  if ((i % 5 == 4)); then
    cat <<TEST
    stub_wait_up(targets => "web$((1 + i % 50))", error => { kind => "drover/timeout", msg => "not up" });
    \$e = expect_error(run_plan("reboot::rolling", targets => "web", lb => "lb01", backend => "app", batch => $batch),
                      kind => "drover/loop-failure");
    assert(calls("run_task", "haproxy::enable").length < 50);
}
TEST
  else
    cat <<TEST
    \$done = run_plan("reboot::rolling", targets => "web", lb => "lb01", backend => "app", batch => $batch);
    assert_eq(\$done.length, 50);
    assert_eq(calls("run_task", "reboot").length, 50);
    assert(now() > 0s);
}
TEST
  fi
done > "$dir/rolling_test.plan"

cargo build --release --quiet
drover=target/release/drover
"$drover" test "$dir/rolling_test.plan" -i "$dir/inventory.yaml" | tail -1
echo "drover test, 200 tests x 50 servers: $(median "$drover" test "$dir/rolling_test.plan" -i "$dir/inventory.yaml") s (median of $runs)"
