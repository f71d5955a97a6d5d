# expect: success [true, 2]
# Timestamp(): seconds on the run's clock; the difference of two is seconds.
plan conformance::pp_timestamp() {
  $start = Timestamp()
  ctrl::sleep(2)
  return [$start > 1700000000, Integer(Timestamp() - $start)]
}
