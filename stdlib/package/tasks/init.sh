#!/bin/sh
# drover stdlib task `package`: install, remove or report a package with the
# system's package manager.
. "$PT__installdir/drover/files/json.sh"
need action
need name
name=$PT_name
version=${PT_version:-}

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  manager=apt
elif command -v dnf >/dev/null 2>&1; then
  manager=dnf
elif command -v yum >/dev/null 2>&1; then
  manager=yum
elif command -v apk >/dev/null 2>&1; then
  manager=apk
else
  fail drover.package/no-manager "no supported package manager (apt, dnf, yum, apk)"
fi

# installed_version: the installed version, or nothing.
installed_version() {
  case $manager in
    apt) dpkg-query -W -f='${Status} ${Version}\n' -- "$name" 2>/dev/null |
           awk '$3 == "installed" { print $4 }' ;;
    dnf|yum) rpm -q --qf '%{VERSION}-%{RELEASE}\n' -- "$name" 2>/dev/null | grep -v 'not installed' ;;
    apk) apk info -e -- "$name" >/dev/null 2>&1 &&
           apk info -v -- "$name" 2>/dev/null | head -n1 | sed "s/^$name-//" ;;
  esac
}

run() {
  out=$("$@" 2>&1) ||
    fail drover.package/failed "'$*' failed" "{\"output\": $(json_str "$(printf '%s' "$out" | tail -n 20)")}"
}

report() {
  current=$(installed_version)
  if [ -n "$current" ]; then state=installed; else state=absent; fi
  printf '{"name": %s, "status": "%s", "version": %s, "manager": "%s"%s}\n' \
    "$(json_str "$name")" "$state" "$(json_str "$current")" "$manager" "$1"
}

if [ "$PT__noop" = true ] || [ "$PT_action" = status ]; then
  [ "$PT__noop" = true ] && report ', "noop": true' || report ''
  exit 0
fi

case $PT_action in
  install)
    case $manager in
      apt) run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -- "$name${version:+=$version}" ;;
      dnf|yum) run "$manager" install -y -- "$name${version:+-$version}" ;;
      apk) run apk add -- "$name${version:+=$version}" ;;
    esac ;;
  remove)
    case $manager in
      apt) run env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q -- "$name" ;;
      dnf|yum) run "$manager" remove -y -- "$name" ;;
      apk) run apk del -- "$name" ;;
    esac ;;
esac
report ''
