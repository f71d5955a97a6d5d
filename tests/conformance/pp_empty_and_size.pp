# expect: success [true, false, 3, 2, 5]
# empty, size and length of arrays, hashes and strings.
plan conformance::pp_empty_and_size() {
  return [empty([]), empty({ 'a' => 1 }), size([1, 2, 3]), { 'a' => 1, 'b' => 2 }.size, length('hello')]
}
