# expect: success ["site/boom", "kept", 3, false, ["one", "two"], 42, "7 and 8", "deep", "none", {"a": 1, "b": 2}, {"x": "y"}]
# Bolt's functions that run a lambda: catch_errors, ctrl::do_until,
# background and wait, with; and get, Hash.new.
plan conformance::pp_lambda_functions() {
  $caught = catch_errors() || { fail_plan('boom', 'site/boom') }
  $kept = catch_errors(['site/other']) || { 'kept' }
  $tries = [0]
  $third = ctrl::do_until('limit' => 5) || {
    $tries.length >= 0 and ctrl::sleep(0) == undef and false
  }
  $n = 3
  $futures = [background() || { 'one' }, background() || { 'two' }]
  $values = wait($futures)
  $answer = with(6, 7) |$a, $b| { $a * $b }
  $text = with(7, 8) |$x, $y| { "${x} and ${y}" }
  $data = { 'a' => { 'b' => ['deep'] } }
  return [
    $caught.kind, $kept, $n, $third, $values, $answer, $text,
    get($data, 'a.b.0'), get($data, 'a.c', 'none'),
    Hash.new([['a', 1], ['b', 2]]), Hash.new(['x', 'y']),
  ]
}
