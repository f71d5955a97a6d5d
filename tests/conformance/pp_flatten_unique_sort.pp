# expect: success [[1, 2, 3, 4], ["a", "b"], [1, 2, 3]]
# flatten, unique and sort.
plan conformance::pp_flatten_unique_sort() {
  return [flatten([1, [2, [3, 4]]]), unique(['a', 'b', 'a']), sort([3, 1, 2])]
}
