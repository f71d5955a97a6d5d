# expect: success [6, null, "default", 3]
# then runs on a value that is set, lest on undef.
plan conformance::pp_then_and_lest() {
  $h = { 'a' => 3 }
  return [
    $h['a'].then |$x| { $x * 2 },
    $h['b'].then |$x| { $x * 2 },
    $h['b'].lest || { 'default' },
    $h['a'].lest || { 'default' },
  ]
}
