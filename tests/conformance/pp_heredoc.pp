# expect: success ["line one\n  indented $x\n", "value 5\n", "no newline"]
# Heredocs: @(END) is literal, @("END") interpolates, `|` sets the margin,
# `-` removes the last newline.
plan conformance::pp_heredoc() {
  $x = 5
  $literal = @(END)
    line one
      indented $x
    | END
  $interpolated = @("END")
    value ${x}
    |END
  $chomped = @(END)
    no newline
    |- END
  return [$literal, $interpolated, $chomped]
}
