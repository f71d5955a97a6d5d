# expect: success [[0, 1, 2], 3, [0, 2, 4]]
# An Integer iterates from 0 to n-1.
plan conformance::pp_integer_iteration() {
  $seen = 3.map |$i| { $i }
  return [$seen, 3.reduce |$memo, $i| { $memo + $i }, 3.map |$i| { $i * 2 }]
}
