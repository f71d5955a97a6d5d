# expect: success [90.0, 5430.0, 93784.5, 0.25, true]
# Timespan: of seconds, of a Hash of units, of Puppet's D-HH:MM:SS format.
plan conformance::pp_timespan() {
  return [
    Timespan(90),
    Timespan({ 'hours' => 1, 'minutes' => 30, 'seconds' => 30 }),
    Timespan('1-02:03:04.5'),
    Timespan({ 'milliseconds' => 250 }),
    Timespan(60) > Timespan('00:00:59'),
  ]
}
