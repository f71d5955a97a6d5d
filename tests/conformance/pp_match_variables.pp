# expect: success ["web12", "12", "east", null]
# `=~` sets $0 (the match) and $1, $2, ... (the groups) in Puppet.
plan conformance::pp_match_variables() {
  if 'web12.east' =~ /^(web(\d+))\.(\w+)$/ {
    $found = [$1, $2, $3]
  }
  if 'none' =~ /^(x)?none$/ {
    $missing = $1
  }
  return $found + $missing
}
