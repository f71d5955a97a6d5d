# expect: success "early"
# `return(value)` is a function call in Puppet.
plan conformance::pp_return_function() {
  if true {
    return('early')
  }
  return('late')
}
