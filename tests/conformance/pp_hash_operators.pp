# expect: success [{"a": 1, "b": 3, "c": 4}, {"c": 4}, {"a": 1}, true]
# Hashes: `+` merges (the right wins), `-` removes keys; bare-word keys.
plan conformance::pp_hash_operators() {
  $h = { a => 1, b => 2 } + { 'b' => 3, c => 4 }
  $without = $h - ['a', 'b']
  $one = { a => 1, b => 2 } - 'b'
  return [$h, $without, $one, 'b' in $h]
}
