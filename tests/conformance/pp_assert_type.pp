# expect: success [5, "web", ["a"], null]
# assert_type: the value, when it is an instance of the type.
plan conformance::pp_assert_type() {
  return [
    assert_type(Integer[1], 5),
    assert_type(Variant[String, Integer], 'web'),
    assert_type(Array[String, 1], ['a']),
    assert_type(Optional[String], undef),
  ]
}
