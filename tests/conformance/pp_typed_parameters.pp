# expect: success ["start", 5, ["a"], null, "x"]
# Puppet types of plan parameters: Enum, Integer ranges, Array[String],
# Optional, Variant.
plan conformance::pp_typed_parameters(
  Enum['start', 'stop'] $action = 'start',
  Integer[1, 10]        $count = 5,
  Array[String]         $names = ['a'],
  Optional[String[1]]   $note = undef,
  Variant[String, Integer] $either = 'x',
) {
  return [$action, $count, $names, $note, $either]
}
