# expect: failure site/quota at 5:3
# fail_plan(message, kind, details): the error the plan fails with.
plan conformance::pp_fail_plan_details() {
  $used = 97
  fail_plan("quota at ${used}%", 'site/quota', { 'used' => $used })
}
