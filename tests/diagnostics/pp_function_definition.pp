# expect: error unsupported at 3:1
# Puppet functions belong in functions/*.pp, not beside plans.
function site::double(Integer $x) {
  $x * 2
}
