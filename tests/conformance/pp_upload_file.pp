# expect: success ["#!/bin/sh", true]
# args: -i local/inventory.yaml
# upload_file, then the copy read back on the target.
plan conformance::pp_upload_file() {
  $dir = run_command('mktemp -d', 'fast')[0].value['stdout'].strip
  $up = upload_file('local/scripts/args.sh', "${dir}/copy.sh", 'fast')
  $first = run_command("head -1 ${dir}/copy.sh && rm -rf ${dir}", 'fast')[0].value['stdout'].strip
  return [$first, $up.ok]
}
