# expect: success ["blue", {"role": "web", "color": "blue"}, "Debian", {"os": {"family": "Debian"}}]
# args: -i local/trio.yaml
# set_var and vars, add_facts and facts, on a target value.
plan conformance::pp_inventory_functions() {
  $one = get_target('one')
  set_var($one, 'color', 'blue')
  add_facts($one, { 'os' => { 'family' => 'Debian' } })
  return [$one.vars['color'], vars($one), $one.facts['os']['family'], facts($one)]
}
