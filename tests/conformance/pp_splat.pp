# expect: success [3, "a-b", "second", "picked"]
# The splat `*$array`: its elements as a call's arguments, or as a `case`
# or selector entry's options.
plan conformance::pp_splat() {
  $bounds = [1, 3]
  $parts = ['a', 'b']
  $web = ['web1', 'web2']
  $which = 'web2' ? { *$web => 'picked', default => 'no' }
  case 'db2' {
    *['db1']: { $said = 'first' }
    'x', *['db2', 'db3']: { $said = 'second' }
    default: { $said = 'none' }
  }
  return [max(*$bounds), sprintf('%s-%s', *$parts), $said, $which]
}
