# expect: success [["one", "two"], ["from a plan\n", "from a plan\n"]]
# args: -i local/trio.yaml
# download_file from two targets: one copy per target under downloads/.
plan conformance::pp_download_file() {
  write_file("from a plan\n", '/tmp/drover-conformance-pp-dl.txt', 'one,two')
  $d = download_file('/tmp/drover-conformance-pp-dl.txt', 'pp-conformance', 'one,two')
  $paths = $d.map |$r| { $r.value['path'] }
  return [$d.map |$r| { $r.target.name }, $paths.map |$p| { file::read($p) }]
}
