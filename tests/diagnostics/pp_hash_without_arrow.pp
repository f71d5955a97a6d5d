# expect: error syntax at 4:24
# A hash entry needs `=>`.
plan site::h() {
  $h = { 'a' => 1, 'b' 2 }
}
