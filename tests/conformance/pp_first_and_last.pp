# expect: success ["a", "c", null]
# first and last; of an empty array, undef.
plan conformance::pp_first_and_last() {
  return [['a', 'b', 'c'].first, ['a', 'b', 'c'].last, [].first]
}
