# expect: success [["three"], ["three", "four"], ["three", "four", "five"], ["four"], ["two", "three", "four"], "ell", "lo", [], "o"]
# Puppet's `$x[start, count]` of Arrays and Strings: a negative start counts
# from the end, a negative count ends that far from the end.
plan conformance::pp_slices() {
  $a = ['one', 'two', 'three', 'four', 'five']
  $s = 'hello'
  return [$a[2, 1], $a[2, 2], $a[2, -1], $a[-2, 1], $a[1, -2], $s[1, 3], $s[-2, 2], $a[9, 2], $s[4, 10]]
}
