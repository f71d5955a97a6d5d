# expect: success ["two", "many"]
# A selector's `default` matches what nothing else does.
plan conformance::pp_selector_default() {
  return [2 ? { 1 => 'one', 2 => 'two', default => 'many' }, 9 ? { 1 => 'one', default => 'many' }]
}
