#!/bin/sh
# drover stdlib task `reboot`: schedule a reboot and return before it happens,
# so that the connection is not lost in the middle of the task.
. "$PT__installdir/drover/files/json.sh"
delay=${PT_timeout:-3}
message=${PT_message:-"reboot requested by drover"}
case $delay in ''|*[!0-9]*) fail drover/bad-parameter "timeout must be a number of seconds" ;; esac
if [ "${PT_shutdown_only:-false}" = true ]; then how=-h; verb=poweroff; else how=-r; verb=reboot; fi
command -v shutdown >/dev/null 2>&1 || command -v "$verb" >/dev/null 2>&1 ||
  fail drover.reboot/unsupported "neither shutdown nor $verb is available"
logger -t drover "$message" 2>/dev/null || true
# Detached from the task's session and output, so the task ends now.
nohup sh -c '
  sleep "$1"
  shutdown "$2" now "$3" 2>/dev/null || "$4"
' drover-reboot "$delay" "$how" "$message" "$verb" </dev/null >/dev/null 2>&1 &
printf '{"status": "queued", "timeout": %s, "action": "%s"}\n' "$delay" "$verb"
