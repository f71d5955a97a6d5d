# expect: success [31, 15, 1500.0, 3, 1, -4, 2.5]
# Hexadecimal, octal and float literals; integer division rounds down.
plan conformance::pp_numbers() {
  return [0x1F, 017, 1.5e3, 7 / 2, 7 % 2, -7 / 2, 5 / 2.0]
}
