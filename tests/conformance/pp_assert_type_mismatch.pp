# expect: failure drover/type-error at 5:27
# assert_type of a value that does not fit: an error at the value.
plan conformance::pp_assert_type_mismatch() {
  $port = '8080'
  assert_type(Integer[1], $port)
}
