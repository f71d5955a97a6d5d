# expect: success [["0:a", "1:b"], ["b"], ["a", "b"], "ab"]
# Puppet passes an Array's index and element to a lambda of two parameters;
# `reduce`'s two are the memo and the element.
plan conformance::pp_array_index_and_value() {
  $list = ['a', 'b']
  return [
    $list.map |$i, $v| { "${i}:${v}" },
    $list.filter |$i, $v| { $i > 0 },
    $list.map |$v| { $v },
    $list.reduce('') |$memo, $v| { "${memo}${v}" },
  ]
}
