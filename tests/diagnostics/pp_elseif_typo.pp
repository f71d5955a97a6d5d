# expect: error syntax at 6:5
# A mistyped keyword: did-you-mean says which one.
plan site::greet(Boolean $formal = false) {
  if $formal {
    out::message('Good day')
  } elseif !$formal {
    out::message('Hi')
  }
}
