# expect: success [42, 3.0, "a, b (4)", "a+b (4)", "stopped"]
# A module's Puppet-language functions (tests/modules/demo/functions/*.pp):
# positional arguments, defaults, return types, `return`.
plan conformance::pp_module_functions() {
  return [
    demo::double(21),
    demo::double(1.5),
    demo::label(['a', 'b']),
    demo::label(['a', 'b'], '+'),
    demo::label(['go', 'stop']),
  ]
}
