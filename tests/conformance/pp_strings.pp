# expect: success ["plain $x \\n", "a\tb 7 7 v v 2 ok", "it's", "back\\slash", "dollar $ sign"]
# Single quotes do not interpolate and know only \' and \\; double quotes
# interpolate $x, ${x}, ${$h['k']}, ${h['k']} and method calls.
plan conformance::pp_strings() {
  $x = 7
  $h = { 'k' => 'v', 'list' => [1, 2] }
  $s = 'ok'
  return [
    'plain $x \n',
    "a\tb $x ${x} ${$h['k']} ${h['k']} ${h['list'].length} ${s}",
    'it\'s',
    'back\\slash',
    "dollar \$ sign",
  ]
}
