# expect: error unsupported at 4:3
# apply() needs a Puppet agent on the targets: drover says so at check time.
plan site::configure(TargetSpec $targets) {
  apply($targets) {
    package { 'nginx': ensure => installed }
  }
}
