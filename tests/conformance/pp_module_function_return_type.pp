# expect: failure drover/type-error at 4:10
# A function whose value does not fit its return type: an error at the call.
plan conformance::pp_module_function_return_type() {
  return demo::broken()
}
