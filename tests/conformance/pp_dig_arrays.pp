# expect: success ["b", null, 3]
# dig through hashes and arrays; a missing step gives undef.
plan conformance::pp_dig_arrays() {
  $d = { 'list' => ['a', 'b'], 'h' => { 'n' => [1, 2, 3] } }
  return [$d.dig('list', 1), $d.dig('list', 7, 'x'), dig($d, 'h', 'n', -1)]
}
