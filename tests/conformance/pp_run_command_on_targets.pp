# expect: success [["fast", "slow"], [true, false]]
# args: -i local/inventory.yaml
# run_command on several targets; `_catch_errors` keeps a failure as a result.
plan conformance::pp_run_command_on_targets() {
  $r = run_command('test "$DELAY" = 0', ['fast', 'slow'], '_catch_errors' => true)
  return [$r.map |$x| { $x.target.name }, $r.map |$x| { $x.ok }]
}
