# expect: success ["fast", true]
# args: -i local/inventory.yaml
# Bolt: a call's trailing `key => value` pairs are the task's parameters and
# the action's options; string keys work too.
plan conformance::pp_named_task_parameters() {
  $r = run_command('true', 'fast', '_catch_errors' => true)
  return [$r[0].target.name, $r.ok]
}
