# expect: error unknown-function at 4:3
# A misspelt Bolt function, found by drover's checker.
plan site::run(TargetSpec $targets) {
  run_comand('uptime', $targets)
}
