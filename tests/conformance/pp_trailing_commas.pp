# expect: success [[1, 2], {"a": 1}, 3]
# Trailing commas in arrays, hashes, parameters and arguments.
plan conformance::pp_trailing_commas(Integer $n = 3,) {
  return [[1, 2,], { 'a' => 1, }, max(1, $n,)]
}
