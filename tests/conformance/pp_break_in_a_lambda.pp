# expect: success [6, [1, 2], 10]
# Puppet: break() ends the iteration of the lambda's function; the result so
# far stands. An Integer iterates 0 ... n-1.
plan conformance::pp_break_in_a_lambda() {
  $sum = [1, 2, 3, 4, 5].reduce(0) |$memo, $x| {
    if $x > 3 { break() }
    $memo + $x
  }
  $firsts = [1, 2, 3].map |$x| {
    if $x == 3 { break() }
    $x
  }
  $n = 5.reduce(0) |$memo, $i| { $memo + $i }
  return [$sum, $firsts, $n]
}
