# expect: success [true, 3]
# args: -i local/trio.yaml
# wait_until_available with Bolt's options.
plan conformance::pp_wait_until_available() {
  $r = wait_until_available('trio', wait_time => 5, retry_interval => 1)
  return [$r.ok, $r.count]
}
