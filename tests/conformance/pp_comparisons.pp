# expect: success [true, true, true, true, false]
# Comparisons of numbers and strings.
plan conformance::pp_comparisons() {
  return [1 < 2, 2 >= 2, 'a' < 'b', 3.5 > 3, 10 <= 9]
}
