# expect: success "3 items, first a, total 6, ok yes"
# `${...}` holds any expression: method calls, indexes, arithmetic, an if.
plan conformance::pp_interpolated_expressions() {
  $list = ['a', 'b', 'c']
  $ok = true
  return "${list.length} items, first ${list[0]}, total ${1 + 2 + 3}, ok ${if $ok { 'yes' } else { 'no' }}"
}
