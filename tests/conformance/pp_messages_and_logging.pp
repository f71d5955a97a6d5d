# expect: success "logged"
# out::message, out::verbose, log::*, and Puppet's notice, warning, err,
# info and debug (their arguments joined by spaces).
plan conformance::pp_messages_and_logging() {
  out::message('a message')
  out::verbose('a verbose line')
  log::info('log info')
  log::warn('log warn')
  notice('notice', 1, [2])
  warning('a warning')
  info('info')
  debug('debug')
  err('an error that is only logged')
  return 'logged'
}
