# expect: success [10, "abc"]
# reduce without a start begins with the first element.
plan conformance::pp_reduce_without_start() {
  return [[1, 2, 3, 4].reduce |$a, $b| { $a + $b }, ['a', 'b', 'c'].reduce |$a, $b| { "${a}${b}" }]
}
