# expect: success ["a,b", ["x", "y"], {"a": 1, "b": 3}, 3, null, "Web", 5, ["web12", "12"], "db-12", "seen", "fallback", "first", "007 3.14 ff pad |", "Integer", true, ["b", "c"]]
# Puppet's core functions, as functions and as methods.
plan conformance::pp_core_functions() {
  $h = { 'a' => { 'b' => [1, 2, 3] } }
  return [
    join(['a', 'b'], ','),
    split('x y', ' '),
    merge({ 'a' => 1, 'b' => 2 }, { 'b' => 3 }),
    $h.dig('a', 'b', 2),
    dig($h, 'a', 'nope', 0),
    capitalize('web'),
    abs(-5),
    'web12'.match(/web(\d+)/),
    regsubst('web-12', '^web', 'db'),
    'x'.then |$v| { 'seen' },
    undef.lest || { 'fallback' },
    pick(undef, '', 'first', 'second'),
    sprintf('%03d %.2f %x %-4s|', 7, 3.14159, 255, 'pad'),
    type(42),
    empty([]),
    unique(['b', 'c', 'b']),
  ]
}
