# expect: success [{"a": 1, "b": ["x", "z"]}, "k=v k2=v2", {"a": [1]}, "fallback", "drover/parse-error"]
# parseyaml and parsejson (Puppet stdlib): the data, a default, or an error.
plan conformance::pp_parseyaml_and_parsejson() {
  $bad = catch_errors() || { parsejson('{') }
  return [
    parseyaml("a: 1\nb: [x, z]\n"),
    parseyaml("k=v\nk2=v2"),
    parsejson('{"a": [1]}'),
    parsejson('{', 'fallback'),
    $bad.kind,
  ]
}
