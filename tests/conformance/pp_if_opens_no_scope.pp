# expect: success "set inside"
# Puppet: a variable assigned in an `if` block is visible after it.
plan conformance::pp_if_opens_no_scope() {
  if true {
    $inner = 'set inside'
  }
  return $inner
}
