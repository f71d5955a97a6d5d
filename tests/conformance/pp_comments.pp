# expect: success 3
# Comments: `#` to the end of the line and `/* ... */`.
plan conformance::pp_comments() {
  /* a block
     comment */
  $x = 1 # trailing
  $y = 2 /* inline */ + 0
  return $x + $y
}
