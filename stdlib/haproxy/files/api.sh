# HAProxy runtime API helpers for the haproxy tasks (POSIX sh). Needs
# json.sh sourced first, and $PT_backend, $PT_server, $PT_socket.

backend=${PT_backend:-}
server=${PT_server:-}
socket=${PT_socket:-/run/haproxy/admin.sock}
[ -n "$backend" ] || fail drover/missing-parameter "parameter 'backend' is required"
[ -n "$server" ] || fail drover/missing-parameter "parameter 'server' is required"
[ -S "$socket" ] || fail drover.haproxy/no-socket "no HAProxy admin socket at $socket"

# api COMMAND: send one command to the runtime API, print its answer.
api() {
  if command -v socat >/dev/null 2>&1; then
    printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$socket"
  elif command -v nc >/dev/null 2>&1; then
    printf '%s\n' "$1" | nc -U -w 5 "$socket"
  else
    fail drover.haproxy/no-client "neither socat nor nc is installed"
  fi
}

# change COMMAND: a command that answers nothing on success.
change() {
  answer=$(api "$1") || fail drover.haproxy/api "cannot reach HAProxy on $socket"
  answer=$(printf '%s' "$answer" | tr -d '\r' | sed '/^[[:space:]]*$/d')
  [ -z "$answer" ] || fail drover.haproxy/refused "HAProxy refused '$1': $answer" \
    "{\"backend\": $(json_str "$backend"), \"server\": $(json_str "$server")}"
}

# server_stat: set $status (UP, DOWN, MAINT, DRAIN, NOLB, ...: first word of
# `show stat`'s status), $settled (false while health checks are still
# rising or falling, as in "UP 1/2") and $sessions (current sessions).
server_stat() {
  out=$(api "show stat") || fail drover.haproxy/api "cannot reach HAProxy on $socket"
  line=$(printf '%s\n' "$out" | awk -F, -v b="$backend" -v s="$server" \
    '$1 == b && $2 == s { n = split($18, w, " "); print w[1], (n > 1 ? "false" : "true"), $5; found = 1 }
     END { exit !found }') ||
    fail drover.haproxy/unknown-server "no server $backend/$server in HAProxy" \
      "{\"backend\": $(json_str "$backend"), \"server\": $(json_str "$server")}"
  status=${line%% *}
  settled=${line#* }
  settled=${settled% *}
  sessions=${line##* }
}

# report [EXTRA_JSON]: the server's state as the task's result.
report() {
  server_stat
  printf '{"backend": %s, "server": %s, "status": "%s", "sessions": %s%s}\n' \
    "$(json_str "$backend")" "$(json_str "$server")" "$status" "${sessions:-0}" "${1:-}"
}
