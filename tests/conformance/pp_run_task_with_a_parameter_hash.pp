# expect: success [42, "two"]
# args: -i local/inventory.yaml
# run_task(task, targets, params) with the parameters as a Hash (Bolt's form).
plan conformance::pp_run_task_with_a_parameter_hash() {
  $r = run_task('outputs', 'fast', { 'kind' => 'json' })
  return [$r[0].value['answer'], $r[0].value['list'][1]]
}
