# expect: success ["3-2-1", 3, "WEB"]
# Methods chain, with and without parentheses.
plan conformance::pp_method_chains() {
  return [[3, 1, 2].sort.reverse.join('-'), [1, 2, 3].length(), 'web'.upcase]
}
