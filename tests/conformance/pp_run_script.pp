# expect: success ["<a b>", "<c>"]
# args: -i local/inventory.yaml
# run_script with Bolt's `arguments`.
plan conformance::pp_run_script() {
  $r = run_script('local/scripts/args.sh', 'fast', arguments => ['a b', 'c'])
  return $r[0].value['stdout'].split("\n").filter |$l| { $l =~ /^</ }
}
