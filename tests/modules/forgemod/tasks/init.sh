#!/bin/sh
# The POSIX implementation: parameters as PT_* and JSON on stdin; the helper
# comes from the module's files/ through _installdir.
. "$PT__installdir/forgemod/files/helper.sh"
input=$(cat)
words=$(greeting "$PT_name" "$PT_mode" "${PT_suffix:-}" "$PT_times")
case $input in *'"_task":"forgemod"'*) stdin=true ;; *) stdin=false ;; esac
[ "${PT_token:-}" = "open-sesame" ] && token_ok=true || token_ok=false
printf '{"greeting": "%s", "implementation": "shell", "stdin_has_task": %s, "token_ok": %s, "installdir_private": "%s"}\n' \
  "$words" "$stdin" "$token_ok" "$(stat -c %a "$(dirname "$PT__installdir")")"
