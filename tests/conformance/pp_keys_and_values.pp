# expect: success [["a", "b"], [1, 2], ["a", "b"]]
# keys and values, as functions and as methods.
plan conformance::pp_keys_and_values() {
  $h = { 'a' => 1, 'b' => 2 }
  return [keys($h), values($h), $h.keys]
}
