# expect: success [-3, 3, -3]
# Unary minus on variables and parenthesised expressions.
plan conformance::pp_unary_minus() {
  $x = 3
  return [-$x, -(-3), -(1 + 2)]
}
