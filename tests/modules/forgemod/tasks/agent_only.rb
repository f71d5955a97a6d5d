#!/opt/puppetlabs/puppet/bin/ruby
puts "{}"
