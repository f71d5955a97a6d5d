# expect: success ["skipped", "ran"]
# `unless` runs its block when the condition is false; `else` otherwise.
plan conformance::pp_unless_statement(Boolean $flag = true) {
  unless $flag { $a = 'ran' } else { $a = 'skipped' }
  unless !$flag { $b = 'ran' }
  return [$a, $b]
}
