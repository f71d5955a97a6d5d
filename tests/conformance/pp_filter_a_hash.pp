# expect: success [{"b": 2, "c": 3}, {"a": 1}]
# filter of a hash keeps the entries whose lambda is truthy.
plan conformance::pp_filter_a_hash() {
  $h = { 'a' => 1, 'b' => 2, 'c' => 3 }
  return [$h.filter |$k, $v| { $v > 1 }, $h.filter |$pair| { $pair[0] == 'a' }]
}
