# expect: error syntax at 4:8
# A heredoc whose end tag never comes.
plan site::doc() {
  $t = @(END)
    text
}
