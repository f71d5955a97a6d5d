# expect: success "found 3"
# `return` inside a lambda returns from the plan, as in Puppet.
plan conformance::pp_return_in_a_lambda() {
  [1, 2, 3, 4].each |$n| {
    if $n == 3 {
      return("found ${n}")
    }
  }
  return 'not found'
}
