# expect: success "anonymous"
# prompt without a terminal: its default.
plan conformance::pp_prompt() {
  return prompt('Your name', 'default' => 'anonymous')
}
