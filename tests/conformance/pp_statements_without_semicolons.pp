# expect: success {"total": 10, "names": ["a", "b"]}
# Statements end at the end of their expression; `;` is optional.
plan conformance::pp_statements_without_semicolons() {
  $start = 0; $none = []
  $total = [1, 2, 3, 4].reduce($start) |$sum, $n| { $sum + $n }
  $one = $none + 'a'
  $names = $one << 'b'
  return { 'total' => $total, 'names' => $names }
}
