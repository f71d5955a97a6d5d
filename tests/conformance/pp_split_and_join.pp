# expect: success [["a", "b", "c"], "a-b-c", ["x", "y"]]
# split and join.
plan conformance::pp_split_and_join() {
  $parts = split('a,b,c', ',')
  return [$parts, $parts.join('-'), 'x y'.split(' ')]
}
