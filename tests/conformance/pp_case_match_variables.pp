# expect: success ["web", "7", "db-2"]
# A `case` or selector regex that matches sets $0, $1, ... as `=~` does.
plan conformance::pp_case_match_variables() {
  case 'web-7' {
    /^(\w+)-(\d+)$/: { $role = $1; $n = $2 }
    default: { $role = 'none'; $n = '0' }
  }
  $name = 'db-2' ? { /^db-\d$/ => $0, default => 'no' }
  return [$role, $n, $name]
}
