# expect: error syntax at 4:8
# A string that never ends.
plan site::greet() {
  $x = "hello
}
