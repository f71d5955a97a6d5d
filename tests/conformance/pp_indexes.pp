# expect: success ["c", "a", null, 2, null, "b"]
# Indexes of arrays (negative from the end), hashes, missing keys, strings.
plan conformance::pp_indexes() {
  $a = ['a', 'b', 'c']
  $h = { 'x' => { 'y' => 2 } }
  return [$a[-1], $a[0], $a[5], $h['x']['y'], $h['nope'], $a[1]]
}
