# expect: success [true, "empty", true, false, "set"]
# undef: falsy, equal to itself; an empty string is truthy in Puppet.
plan conformance::pp_undef(Optional[String] $maybe = undef) {
  $none = undef
  $which = if $none { 'set' } else { 'empty' }
  $empty_is_true = if '' { true } else { false }
  return [$none == undef, $which, $empty_is_true, $maybe =~ /x/, pick($maybe, 'set')]
}
