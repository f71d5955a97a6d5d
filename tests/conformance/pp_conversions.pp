# expect: success [42, 255, 8, 3, -7, "12", "[1, 2]", true, false, true]
# Puppet's Integer(), String() and Boolean().
plan conformance::pp_conversions() {
  return [
    Integer('42'), Integer('0xff'), Integer('010'), Integer(3.9), Integer('-7'),
    String(12), String([1, 2]),
    Boolean('Yes'), Boolean(0), Boolean(true),
  ]
}
