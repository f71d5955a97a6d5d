# expect: success [5, 1, "b"]
# max and min of values.
plan conformance::pp_max_and_min() {
  return [max(1, 5, 3), min(4, 1, 9), max('a', 'b')]
}
