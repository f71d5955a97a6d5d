# expect: success [true, false, true, true, true, true]
# Puppet: `==` on strings ignores case; numbers compare by value; `in`
# ignores case too.
plan conformance::pp_equality_ignores_case() {
  return [
    'Debian' == 'debian',
    'Debian' != 'DEBIAN',
    1 == 1.0,
    'EL' in 'the el7 release',
    'Web' in ['web', 'db'],
    ['A', { 'b' => 'C' }] == ['a', { 'b' => 'c' }],
  ]
}
