# expect: success ["x-b-a", "x-b-x", "db01"]
# regsubst replaces the first match, or every one with flags G; \1 is a group.
plan conformance::pp_regsubst_global() {
  return [regsubst('a-b-a', 'a', 'x'), regsubst('a-b-a', 'a', 'x', 'G'), regsubst('web01', '^web(\d+)$', 'db\1')]
}
