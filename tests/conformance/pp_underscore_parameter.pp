# expect: success [3, ["a", "b"]]
# `$_` (and `$_name`) name a parameter the lambda does not use, as the
# Forge's reboot plan does: `reduce(...) |$memo, $_| { ... }`.
plan conformance::pp_underscore_parameter() {
  $count = [10, 20, 30].reduce(0) |$memo, $_| { $memo + 1 }
  $keys = { 'a' => 1, 'b' => 2 }.map |$k, $_value| { $k }
  return [$count, $keys]
}
