# expect: success [[2, 4, 6], [2], 6, ["a=1", "b=2"], 3]
# Lambdas after method calls, with and without parentheses.
plan conformance::pp_lambdas() {
  $doubled = [1, 2, 3].map |$x| { $x * 2 }
  $even = [1, 2, 3].filter |$x| { $x % 2 == 0 }
  $sum = [1, 2, 3].reduce |$memo, $x| { $memo + $x }
  $pairs = { 'a' => 1, 'b' => 2 }.map |$k, $v| { "${k}=${v}" }
  $count = [1, 2, 3].length
  return [$doubled, $even, $sum, $pairs, $count]
}
