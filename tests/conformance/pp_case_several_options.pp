# expect: success ["weekend", "weekday", "weekend"]
# A `case` arm takes several options; the first matching arm wins.
plan conformance::pp_case_several_options() {
  return ['sat', 'mon', 'SUN'].map |$d| {
    case $d {
      'sat', 'sun': { 'weekend' }
      default: { 'weekday' }
    }
  }
}
