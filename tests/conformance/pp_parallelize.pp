# expect: success [["one", 1], ["two", 1], ["three", 1]]
# args: -i local/trio.yaml
# parallelize: the lambda on each target at once, results in order.
plan conformance::pp_parallelize() {
  return parallelize(get_targets('trio')) |$t| {
    [$t.name, run_command('echo hi', $t).count]
  }
}
