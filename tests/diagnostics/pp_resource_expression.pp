# expect: error unsupported at 4:3
# Resources need a Puppet agent: drover says so where the resource is.
plan site::motd(TargetSpec $targets) {
  file { '/etc/motd':
    content => 'managed by drover',
  }
}
