# expect: success [true, false, true]
# any and all with lambdas.
plan conformance::pp_any_and_all() {
  $n = [1, 2, 3]
  return [$n.any |$x| { $x > 2 }, $n.all |$x| { $x > 2 }, all($n) |$x| { $x > 0 }]
}
