#!/usr/bin/env bash
# The web test bed: a load balancer and N web backends on loopback, for the
# end-to-end rolling-reboot tests and for trying reboot::rolling by hand.
# Needs root, sshd, haproxy and socat.
#
#   scripts/webbed.sh start DIR N [FIRST]
#       Targets from the SSH test bed (scripts/sshbed.sh, one sshd each):
#       `lb` at 127.FIRST.0.2 and web1..webN at 127.FIRST.0.3 on. Each web
#       backend serves HTTP on port 8080 of its address (socat; every answer,
#       /health included, is "NAME BOOT_ID"). HAProxy listens on
#       127.FIRST.0.1:8080, balances backend `app` over web1..webN with
#       health checks, and has its admin socket at DIR/haproxy/admin.sock.
#       Writes DIR/inventory.yaml (groups lb and web). FIRST defaults to 40.
#   scripts/webbed.sh stop DIR          stop everything the bed started
#   scripts/webbed.sh break DIR I       web I (from 1) will not come back from
#                                       its next reboot
#   scripts/webbed.sh status DIR        each backend's HAProxy status and boot id
#
# A real reboot is impossible here, so every backend has a "power supervisor"
# (a root shell loop): the target's `reboot_command` (in the inventory) asks it
# to reboot, and it stops the backend's sshd and HTTP server, waits
# WEBBED_DOWNTIME seconds (default 2), writes a new boot id (which the
# target's `boot_id_command` reads, and which is appended to DIR/webI/boots)
# and starts both again.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SSHBED=$HERE/sshbed.sh
USER_NAME=drover-test
PORT=8080

die() { echo "webbed: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (it starts sshd and haproxy)"
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$HAPROXY" ] || die "haproxy is not installed (apt-get install haproxy)"
command -v socat >/dev/null || die "socat is not installed (apt-get install socat)"

addr() { echo "127.$2.0.$(( $1 + 2 ))"; } # target index (lb = 0), FIRST

http_start() { # dir i
  local w=$1/web$2 a
  a=$(cat "$w/address")
  # Its own session, so that stopping it takes every forked exchange too.
  NAME=web$2 WEB_DIR=$w setsid socat TCP-LISTEN:$PORT,bind="$a",reuseaddr,fork,backlog=256 \
    EXEC:"$w/serve.sh" </dev/null >/dev/null 2>>"$w/http.log" &
  echo $! > "$w/http.pid"
  for _ in $(seq 100); do
    socat -u OPEN:/dev/null TCP:"$a":$PORT 2>/dev/null && return 0
    sleep 0.02
  done
  die "the HTTP server of web$2 did not start"
}

http_stop() { # dir i
  local pidfile=$1/web$2/http.pid
  [ -s "$pidfile" ] || return 0
  kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}

new_boot_id() { # dir i
  local w=$1/web$2
  cat /proc/sys/kernel/random/uuid > "$w/boot_id.new"
  chmod 644 "$w/boot_id.new"
  mv "$w/boot_id.new" "$w/boot_id"
  cat "$w/boot_id" >> "$w/boots"
}

supervise() { # dir i: the backend's power supervisor
  local dir=$1 i=$2 w=$1/web$2
  while [ ! -e "$w/stopping" ]; do
    if [ -e "$w/control/reboot" ]; then
      rm -f "$w/control/reboot"
      # As `shutdown -r`: the command that asked returns before the machine goes.
      sleep 0.3
      http_stop "$dir" "$i"
      "$SSHBED" stop-target "$dir/ssh" "$i"
      sleep "${WEBBED_DOWNTIME:-2}"
      while [ -e "$w/no-restart" ]; do
        [ -e "$w/stopping" ] && return 0
        sleep 0.2
      done
      new_boot_id "$dir" "$i"
      http_start "$dir" "$i"
      "$SSHBED" start-target "$dir/ssh" "$i"
    fi
    sleep 0.1
  done
}

start() {
  local dir=$1 n=$2 first=${3:-40}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  chmod 755 "$dir"
  "$SSHBED" start "$dir/ssh" "$(( n + 1 ))" 1 "$first"
  local ssh=$dir/ssh front
  front=127.$first.0.1
  {
    echo "# the web test bed: scripts/webbed.sh"
    echo "config:"
    echo "  transport: ssh"
    echo "  ssh:"
    echo "    user: $USER_NAME"
    echo "    port: 2222"
    echo "    private-key: $ssh/keys/id_ed25519"
    echo "    known-hosts: $ssh/known_hosts"
    echo "    connect-timeout: 5"
    echo "  # What a dry run predicts with (the ssh transport does not read it)."
    echo "  sim:"
    echo "    latency: 50ms"
    echo "    reboot_downtime: 3s"
    echo "groups:"
    echo "  - name: lb"
    echo "    targets:"
    echo "      - name: lb"
    echo "        uri: $(addr 0 "$first")"
    echo "  - name: web"
    echo "    targets:"
  } > "$dir/inventory.yaml"
  mkdir -p "$dir/haproxy"
  cat > "$dir/haproxy/haproxy.cfg" <<EOF
global
    stats socket $dir/haproxy/admin.sock mode 666 level admin
    pidfile $dir/haproxy/haproxy.pid
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend www
    bind $front:$PORT
    default_backend app
backend app
    balance roundrobin
    option httpchk GET /health
    default-server check inter 500ms fall 2 rise 2
EOF
  local i w a
  for ((i = 1; i <= n; i++)); do
    w=$dir/web$i
    a=$(addr "$i" "$first")
    mkdir -p "$w/control"
    chmod 755 "$w"
    chown "$USER_NAME" "$w/control"
    echo "$a" > "$w/address"
    : > "$w/boots"
    cat > "$w/serve.sh" <<'EOF'
#!/bin/sh
# One HTTP exchange (socat runs it for each connection): the answer to any
# request is "NAME BOOT_ID".
read -r request || exit 0
while read -r header; do [ ${#header} -le 1 ] && break; done
read -r id < "$WEB_DIR/boot_id"
body="$NAME $id"
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s\n' \
  "$(( ${#body} + 1 ))" "$body"
EOF
    chmod 755 "$w/serve.sh"
    new_boot_id "$dir" "$i"
    http_start "$dir" "$i"
    setsid "$0" supervise "$dir" "$i" </dev/null >/dev/null 2>>"$w/supervisor.log" &
    echo $! > "$w/supervisor.pid"
    echo "    server web$i $a:$PORT" >> "$dir/haproxy/haproxy.cfg"
    {
      echo "      - name: web$i"
      echo "        uri: $a"
      echo "        vars:"
      echo "          reboot_command: touch $w/control/reboot"
      echo "          boot_id_command: cat $w/boot_id"
    } >> "$dir/inventory.yaml"
  done
  "$HAPROXY" -D -f "$dir/haproxy/haproxy.cfg" || die "haproxy did not start"
  # Ready once every server passed its health checks.
  for _ in $(seq 100); do
    [ "$(stat_lines "$dir" | grep -c ' UP$')" -eq "$n" ] && return 0
    sleep 0.1
  done
  die "the backends did not come UP in HAProxy: $(stat_lines "$dir" | tr '\n' ' ')"
}

stat_lines() { # dir: "server status" for each server of backend app
  echo "show stat" | socat -t 5 - "UNIX-CONNECT:$1/haproxy/admin.sock" 2>/dev/null |
    awk -F, '$1 == "app" && $2 != "BACKEND" { print $2, $18 }'
}

stop() {
  local dir=$1 w
  for w in "$dir"/web*; do
    [ -d "$w" ] || continue
    touch "$w/stopping"
    [ -s "$w/supervisor.pid" ] && kill -TERM -- "-$(cat "$w/supervisor.pid")" 2>/dev/null || true
    rm -f "$w/supervisor.pid"
    http_stop "$dir" "${w##*/web}"
  done
  [ -s "$dir/haproxy/haproxy.pid" ] && kill -TERM "$(cat "$dir/haproxy/haproxy.pid")" 2>/dev/null || true
  rm -f "$dir/haproxy/haproxy.pid"
  [ -d "$dir/ssh" ] && "$SSHBED" stop "$dir/ssh"
  return 0
}

case ${1:-} in
  start) [ $# -ge 3 ] || die "usage: start DIR N [FIRST]"; start "$2" "$3" "${4:-40}" ;;
  stop) stop "$2" ;;
  break) [ -d "$2/web$3" ] || die "no backend web$3 in $2"; touch "$2/web$3/no-restart" ;;
  status)
    stat_lines "$2" | while read -r server status; do
      echo "$server $status $(cat "$2/$server/boot_id")"
    done ;;
  supervise) supervise "$2" "$3" ;;
  *) die "usage: start|stop|break|status DIR ..." ;;
esac
