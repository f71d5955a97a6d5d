# expect: success [true, "fast", ["x", "y"], 2]
# args: -i local/inventory.yaml
# Bolt's positional forms: a description and a Hash of options after an
# action's arguments; run_plan(name, params) and run_plan(name, targets, params).
plan conformance::pp_bolt_positional_parameters() {
  $r = run_command('exit 3', 'fast', 'fails on purpose', { '_catch_errors' => true })
  $names = run_plan('conformance::pp_bolt_positional_helper', 'fast', { 'extra' => ['x', 'y'] })
  $count = run_plan('conformance::pp_bolt_positional_helper', { 'targets' => 'fast', 'extra' => [1, 2] })
  return [!$r.ok, $r[0].target.name, $names, $count.length]
}

plan conformance::pp_bolt_positional_helper(TargetSpec $targets, Array $extra) {
  return $extra
}
