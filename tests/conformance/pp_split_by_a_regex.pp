# expect: success [["a", "b", "c"], ["x", "y"], ["1", "", "2"]]
# split's pattern is a regular expression; empty fields at the end go.
plan conformance::pp_split_by_a_regex() {
  return ['a1b22c'.split(/\d+/), "x\ny\n\n".split("\n"), '1,,2,,'.split(',')]
}
