# expect: success ["hello\n", true, false, "a/b/c.txt", ["greet.json", "greet.sh"]]
# file::write, file::read, file::exists, file::join and dir::children on the
# controller, relative to the project.
plan conformance::pp_file_functions() {
  file::write('downloads/pp-conformance-file.txt', "hello\n")
  return [
    file::read('downloads/pp-conformance-file.txt'),
    file::exists('downloads/pp-conformance-file.txt'),
    file::exists('downloads/no-such-file'),
    file::join('a', 'b', 'c.txt'),
    dir::children('modules/demo/tasks'),
  ]
}
