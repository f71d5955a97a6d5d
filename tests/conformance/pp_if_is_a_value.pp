# expect: success ["s", null, "big", "small", "neither"]
# Puppet: `if` and `unless` are values; an `if` without a taken branch is undef.
plan conformance::pp_if_is_a_value(Integer $n = 3) {
  $plural = if $n > 1 { 's' }
  $none = if $n > 5 { 'x' }
  $size = if $n > 2 { 'big' } else { 'small' }
  $other = unless $n > 2 { 'big' } else { 'small' }
  $which = if $n == 1 { 'one' } elsif $n == 2 { 'two' } else { 'neither' }
  return [$plural, $none, $size, $other, $which]
}
