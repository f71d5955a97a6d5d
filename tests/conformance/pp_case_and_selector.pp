# expect: success ["debian family", "red hat family", "other", "big", "small", "matched web3"]
# Puppet's `case` (comma-separated options, regular expressions, `default`)
# and selectors; strings match without regard to case.
plan conformance::pp_case_and_selector() {
  $families = ['Ubuntu', 'CentOS', 'Plan9'].map |$os| {
    case $os {
      'debian', 'ubuntu': { 'debian family' }
      /^(CentOS|RedHat)$/: { 'red hat family' }
      default: { 'other' }
    }
  }
  $big = 10 ? { 10 => 'big', default => 'small' }
  $small = 1 ? { 10 => 'big', default => 'small' }
  $name = 'web3'
  $which = $name ? { /^db/ => 'db', /^web\d+$/ => "matched ${name}" }
  return $families + [$big, $small, $which]
}
