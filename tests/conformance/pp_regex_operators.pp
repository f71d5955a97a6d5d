# expect: success [true, false, true, true]
# `=~` and `!~` with regular expressions written /.../ or as strings.
plan conformance::pp_regex_operators() {
  return ['web12' =~ /^web\d+$/, 'db1' =~ /^web/, 'db1' !~ /^web/, 'a/b' =~ 'a/b']
}
