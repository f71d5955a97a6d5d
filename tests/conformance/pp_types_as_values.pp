# expect: success [true, false, true, false, "number", "Integer", true, ["text", "list", "other"]]
# Types are values: `=~` and `case` match instances (no conversion), `type`
# gives one, and they print as written.
plan conformance::pp_types_as_values() {
  $kind = 42 ? { String => 'text', Numeric => 'number', default => 'other' }
  $kinds = ['a', [1], undef].map |$v| {
    case $v {
      String: { 'text' }
      Array[Integer]: { 'list' }
      default: { 'other' }
    }
  }
  return [
    5 =~ Integer[1, 10],
    1 =~ Float,
    ['a', 'b'] =~ Array[String],
    'web' =~ Target,
    $kind,
    "${type(42)}",
    type('x') == String,
    $kinds,
  ]
}
