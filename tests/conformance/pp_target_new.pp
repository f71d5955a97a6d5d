# expect: success ["db1", "local", "blue", ["db1", "local://web9"], "hi\n", "deploy"]
# Target.new of a URI and of a Hash: new targets, members of `all`.
plan conformance::pp_target_new() {
  $web = Target.new('local://web9')
  $db = Target.new('name' => 'db1', 'config' => { 'transport' => 'local', 'local' => { 'user' => 'deploy' } }, 'vars' => { 'color' => 'blue' })
  $said = run_command('echo hi', $db)[0].value['stdout']
  return [$db.name, $db.transport, $db.vars['color'], get_targets('all').map |$t| { $t.name }.sort, $said, $db.user]
}
