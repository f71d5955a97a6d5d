# expect: success [[11, 12], [21, 22]]
# Lambdas inside lambdas see the variables around them.
plan conformance::pp_nested_lambdas() {
  return [10, 20].map |$base| {
    [1, 2].map |$i| { $base + $i }
  }
}
