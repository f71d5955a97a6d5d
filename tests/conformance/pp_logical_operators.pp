# expect: success [true, false, true, false]
# `and`, `or` and `!`, with Puppet's precedence (`and` before `or`).
plan conformance::pp_logical_operators() {
  return [true or false and false, !true, (1 < 2) and (2 < 3), !(true and true)]
}
