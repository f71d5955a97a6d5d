# expect: failure drover/no-match at 5:8
# A selector that no entry matches is an error (a `case` gives undef).
plan conformance::pp_selector_without_match() {
  $none = case 'x' { 'y': { 1 } }
  $v = 'x' ? { 'y' => 1 }
  return [$none, $v]
}
