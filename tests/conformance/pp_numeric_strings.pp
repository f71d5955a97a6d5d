# expect: success [11, 5.0, 7, 31, 8, "drover/type-error"]
# Puppet's arithmetic reads numbers out of strings: decimal, float, hex,
# octal; a string that is no number is an error.
plan conformance::pp_numeric_strings() {
  $bad = catch_errors() || { 'ten' + 1 }
  return ['10' + 1, '2.5' * 2, 10 - '3', '0x1F' + 0, '010' * 1, $bad.kind]
}
