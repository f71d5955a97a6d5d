# expect: error reassigned-variable at 6:3
# Puppet assigns a variable once per scope (branches of an `if` may each
# assign it; a lambda's own variable shadows the plan's).
plan site::count(Array[String] $names) {
  $total = 0
  $total = $names.length
  $label = if $total > 1 { $plural = 's' } else { $plural = '' }
  $names.each |$n| { $total = 1 }
  return "${total} name${plural} ${label}"
}
