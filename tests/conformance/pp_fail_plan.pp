# expect: failure site/broken at 5:3
# fail_plan with Bolt's positional kind.
plan conformance::pp_fail_plan() {
  $x = 1
  fail_plan('it broke', 'site/broken')
}
