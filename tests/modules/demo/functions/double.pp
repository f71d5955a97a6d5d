# A Puppet-language function of the `demo` module (conformance: pp_module_functions).
function demo::double(Numeric $x) >> Numeric {
  $x * 2
}
