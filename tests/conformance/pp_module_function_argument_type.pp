# expect: failure drover/type-error at 5:23
# A function's argument that does not fit its type: an error at the call.
plan conformance::pp_module_function_argument_type() {
  $n = 'ten'
  return demo::double($n)
}
