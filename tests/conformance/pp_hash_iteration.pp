# expect: success [["a:1", "b:2"], [["a", 1], ["b", 2]], {"b": 2}]
# A hash iterates as key and value (two parameters) or as pairs (one).
plan conformance::pp_hash_iteration() {
  $h = { 'a' => 1, 'b' => 2 }
  return [
    $h.map |$k, $v| { "${k}:${v}" },
    $h.map |$pair| { $pair },
    $h.filter |$k, $v| { $v > 1 },
  ]
}
