# expect: success [1, [10, 20], "big"]
# A lambda's variable shadows the plan's (which keeps its value); each
# branch of an `if` may assign the same name.
plan conformance::pp_variables_are_assigned_once() {
  $x = 1
  $inner = [1, 2].map |$n| { $x = $n * 10; $x }
  if $x > 5 { $size = 'small' } else { $size = 'big' }
  return [$x, $inner, $size]
}
