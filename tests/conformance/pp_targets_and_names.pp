# expect: success [["fast", "slow"], "fast"]
# args: -i local/inventory.yaml
# get_targets and get_target, and a target's name.
plan conformance::pp_targets_and_names() {
  return [get_targets('fast,slow').map |$t| { $t.name }, get_target('fast').name]
}
