# expect: success [[1, 2, 3], {"a": 1}, 6]
# `each` returns what it iterated (Puppet), not its lambda's values.
plan conformance::pp_each_returns_its_receiver() {
  $sum = [0]
  $a = [1, 2, 3].each |$x| { $x * 10 }
  $h = { 'a' => 1 }.each |$k, $v| { $v + 1 }
  $total = [1, 2, 3].reduce(0) |$m, $x| { $m + $x }
  return [$a, $h, $total]
}
