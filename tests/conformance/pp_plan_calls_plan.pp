# expect: success {"doubled": 42, "greeting": "hello bolt"}
# A Puppet plan runs another with named parameters; `return` gives its value.
plan conformance::pp_plan_calls_plan() {
  $d = run_plan('conformance::pp_plan_calls_plan_helper', 'x' => 21)
  $g = run_plan('conformance::pp_plan_calls_plan_greet', { 'who' => 'bolt' })
  return { 'doubled' => $d, 'greeting' => $g }
}

plan conformance::pp_plan_calls_plan_helper(Integer $x) {
  return $x * 2
}

plan conformance::pp_plan_calls_plan_greet(String $who) {
  "hello ${who}"
  return "hello ${who}"
}
