# expect: success [["v1.2", "1", "2"], null]
# match gives the match and its groups, or undef.
plan conformance::pp_match_groups() {
  return ['v1.2'.match('v(\d+)\.(\d+)'), match('none', '\d')]
}
