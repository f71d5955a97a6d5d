# expect: success ["WEB", "web", "Web", "trim"]
# upcase, downcase, capitalize, strip.
plan conformance::pp_case_conversions() {
  return [upcase('web'), downcase('WEB'), capitalize('web'), strip('  trim  ')]
}
