# expect: success [true, false, ["b"], "bolt/oops", 2, "done"]
# Bolt: Result.new and ResultSet.new/ResultSet(), without_default_logging.
plan conformance::pp_results() {
  $ok = Result.new(get_target('a.example'), { 'out' => 'fine' })
  $bad = Result.new(get_target('b.example'), { '_error' => { 'kind' => 'bolt/oops', 'msg' => 'no' } })
  $set = ResultSet.new([$ok, $bad])
  $again = ResultSet([$ok, $bad])
  $value = without_default_logging() || { 'done' }
  return [$ok.ok, $set.ok, $set.error_set.names.map |$n| { $n[0] }, $bad.error.kind, $again.size, $value]
}
