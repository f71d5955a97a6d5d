# expect: success ["42", "  7|7  |", "3.142", "ff FF 17", "100%", "-05"]
# sprintf: %d, widths, %f precision, %x %X %o, %%, zero padding.
plan conformance::pp_sprintf_formats() {
  return [
    sprintf('%d', 42),
    sprintf('%3d|%-3d|', 7, 7),
    sprintf('%.3f', 3.14159),
    sprintf('%x %X %o', 255, 255, 15),
    sprintf('%d%%', 100),
    sprintf('%03d', -5),
  ]
}
