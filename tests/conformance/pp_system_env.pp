# expect: success [true, true]
# system::env: a variable of the controller, undef when unset.
plan conformance::pp_system_env() {
  return [system::env('HOME') =~ String, system::env('DROVER_PP_SURELY_UNSET') == undef]
}
