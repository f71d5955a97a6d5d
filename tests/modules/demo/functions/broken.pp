# Returns what its return type does not allow (conformance: pp_module_function_return_type).
function demo::broken() >> Integer {
  'not a number'
}
