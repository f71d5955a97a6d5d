# expect: success [[1, 2, 3], [1, 2, 3, 4], [1, 2, [3, 4]], [1, 3], [2]]
# Puppet: `+` joins arrays and appends a value, `<<` appends (an array as one
# element), `-` removes values.
plan conformance::pp_array_operators() {
  $a = [1, 2] + [3]
  $b = $a + 4
  $c = [1, 2] << [3, 4]
  $d = [1, 2, 3, 2] - 2
  $e = [1, 2, 3] - [1, 3]
  return [$a, $b, $c, $d, $e]
}
