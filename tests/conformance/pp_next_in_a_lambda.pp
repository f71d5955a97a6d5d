# expect: success [1, null, 3]
# next() ends one step of the iteration (its value undef here).
plan conformance::pp_next_in_a_lambda() {
  return [1, 2, 3].map |$x| {
    if $x == 2 { next() }
    $x
  }
}
