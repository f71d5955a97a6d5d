# expect: success ["tab\there", "space here", "smile \u263a", "quote \" in", "line\nbreak"]
# Double-quoted escapes: \t, \s, \u{...}, \", \n.
plan conformance::pp_string_escapes() {
  return ["tab\there", "space\shere", "smile \u{263A}", "quote \" in", "line\nbreak"]
}
