#!/usr/bin/env bash
# The SSH test bed shared by tests and benchmarks: real OpenSSH sshd processes
# on loopback addresses (127.0.X.Y only), a generated host key, a dedicated test
# user whose login shell is /bin/sh. Needs root (user, sudoers, sshd).
#
#   scripts/sshbed.sh start DIR N [PER_PROCESS] [FIRST]
#       N targets from 127.FIRST.0.2 on (FIRST defaults to 0), at most
#       PER_PROCESS (default 16, OpenSSH's limit of ListenAddress) per sshd.
#       Writes DIR/inventory.yaml (group `bed`), DIR/known_hosts, DIR/keys/,
#       DIR/sshd-K.log. Every target listens on port 2222 of its own address.
#   scripts/sshbed.sh stop DIR              stop every sshd of the bed
#   scripts/sshbed.sh stop-target DIR I     stop the sshd serving target I (from 0)
#   scripts/sshbed.sh start-target DIR I    start it again (same host key)
#   scripts/sshbed.sh handshakes DIR        sessions accepted so far (from the logs)
set -euo pipefail

USER_NAME=drover-test
PASSWORD=drover-bed-password
PORT=2222

die() { echo "sshbed: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (it creates a user and starts sshd)"
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || die "sshd is not installed (apt-get install openssh-server)"

setup_user() {
  if ! id "$USER_NAME" >/dev/null 2>&1; then
    useradd -m -s /bin/sh "$USER_NAME"
  fi
  # A password (for password and sudo tests); it also unlocks the account,
  # which sshd refuses while locked.
  echo "$USER_NAME:$PASSWORD" | chpasswd
  if [ -d /etc/sudoers.d ]; then
    echo "$USER_NAME ALL=(ALL:ALL) ALL" > /etc/sudoers.d/drover-test
    chmod 440 /etc/sudoers.d/drover-test
  fi
  mkdir -p /run/sshd
}

keys() {
  local dir=$1
  mkdir -p "$dir/keys"
  [ -f "$dir/keys/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C bed-host -f "$dir/keys/host_ed25519"
  [ -f "$dir/keys/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C bed-ed25519 -f "$dir/keys/id_ed25519"
  [ -f "$dir/keys/id_ecdsa" ] || ssh-keygen -q -t ecdsa -b 256 -N '' -C bed-ecdsa -f "$dir/keys/id_ecdsa"
  [ -f "$dir/keys/id_rsa" ] || ssh-keygen -q -t rsa -b 2048 -N '' -C bed-rsa -f "$dir/keys/id_rsa"
  [ -f "$dir/keys/id_encrypted" ] || ssh-keygen -q -t ed25519 -N 'bed-passphrase' -C bed-encrypted -f "$dir/keys/id_encrypted"
  [ -f "$dir/keys/id_stranger" ] || ssh-keygen -q -t ed25519 -N '' -C stranger -f "$dir/keys/id_stranger"
  cat "$dir/keys/id_ed25519.pub" "$dir/keys/id_ecdsa.pub" "$dir/keys/id_rsa.pub" \
    "$dir/keys/id_encrypted.pub" > "$dir/keys/authorized_keys"
  chmod 644 "$dir/keys/authorized_keys"
  chmod 755 "$dir" "$dir/keys"
}

addr() { # target index -> address
  local i=$(( $1 + 2 )) first=$2
  echo "127.$first.$(( i / 256 )).$(( i % 256 ))"
}

start_process() { # dir k
  local dir=$1 k=$2
  rm -f "$dir/sshd-$k.pid"
  "$SSHD" -f "$dir/sshd-$k.conf" -E "$dir/sshd-$k.log"
  for _ in $(seq 100); do
    [ -s "$dir/sshd-$k.pid" ] && return 0
    sleep 0.02
  done
  die "sshd $k did not start: $(tail -3 "$dir/sshd-$k.log")"
}

start() {
  local dir=$1 n=$2 per=${3:-16} first=${4:-0}
  [ "$per" -ge 1 ] && [ "$per" -le 16 ] || die "PER_PROCESS must be 1..16"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  setup_user
  keys "$dir"
  local hostkey
  hostkey=$(cut -d' ' -f1-2 "$dir/keys/host_ed25519.pub")
  : > "$dir/known_hosts"
  {
    echo "# the SSH test bed: scripts/sshbed.sh"
    echo "config:"
    echo "  transport: ssh"
    echo "  ssh:"
    echo "    user: $USER_NAME"
    echo "    port: $PORT"
    echo "    private-key: $dir/keys/id_ed25519"
    echo "    known-hosts: $dir/known_hosts"
    echo "    connect-timeout: 5"
    echo "groups:"
    echo "  - name: bed"
    echo "    targets:"
  } > "$dir/inventory.yaml"
  local k=-1 i a
  for ((i = 0; i < n; i++)); do
    a=$(addr "$i" "$first")
    if (( i % per == 0 )); then
      k=$(( i / per ))
      cat > "$dir/sshd-$k.conf" <<EOF
HostKey $dir/keys/host_ed25519
PidFile $dir/sshd-$k.pid
AuthorizedKeysFile $dir/keys/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $USER_NAME
MaxStartups 1000:30:2000
MaxSessions 10
LogLevel INFO
Subsystem sftp internal-sftp
EOF
    fi
    echo "ListenAddress $a:$PORT" >> "$dir/sshd-$k.conf"
    echo "$i $k $a" >> "$dir/targets"
    echo "[$a]:$PORT $hostkey" >> "$dir/known_hosts"
    echo "      - $a" >> "$dir/inventory.yaml"
  done
  for ((j = 0; j <= k; j++)); do start_process "$dir" "$j"; done
}

process_of() { awk -v i="$2" '$1 == i { print $2 }' "$1/targets"; }

stop_process() {
  local pidfile="$1/sshd-$2.pid"
  if [ -s "$pidfile" ]; then
    local pid
    pid=$(cat "$pidfile")
    # The listener and every session it forked (a reboot drops them all).
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
    rm -f "$pidfile"
  fi
}

case ${1:-} in
  start) [ $# -ge 3 ] || die "usage: start DIR N [PER_PROCESS] [FIRST]"; start "$2" "$3" "${4:-16}" "${5:-0}" ;;
  stop)
    for conf in "$2"/sshd-*.conf; do
      [ -e "$conf" ] || continue
      k=${conf##*/sshd-}; stop_process "$2" "${k%.conf}"
    done ;;
  stop-target) stop_process "$2" "$(process_of "$2" "$3")" ;;
  start-target) start_process "$2" "$(process_of "$2" "$3")" ;;
  handshakes) cat "$2"/sshd-*.log 2>/dev/null | grep -c '^Accepted ' || true ;;
  *) die "usage: start|stop|stop-target|start-target|handshakes DIR ..." ;;
esac
