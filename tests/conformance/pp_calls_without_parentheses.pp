# expect: failure drover/plan-failure at 6:3
# Puppet's statement functions without parentheses: `notice $x`, `fail 'why'`.
plan conformance::pp_calls_without_parentheses() {
  $who = 'world'
  notice "hello ${who}", 2
  fail "stopped for ${who}"
}
