#!/usr/bin/env bash
# The SSH test bed shared by tests and benchmarks: real OpenSSH sshd processes
# on loopback addresses (127.0.X.Y only), a generated host key, a dedicated test
# user whose login shell is /bin/sh. Needs root (user, sudoers, sshd).
#
#   scripts/sshbed.sh start DIR N [PER_PROCESS] [FIRST]
#       N targets from 127.FIRST.0.2 on (FIRST defaults to 0), at most
#       PER_PROCESS (default 16, OpenSSH's limit of ListenAddress) per sshd.
#       Writes DIR/inventory.yaml (group `bed`), DIR/known_hosts, DIR/keys/,
#       DIR/sshd-K.log. Every target listens on port 2222 of its own address
#       (its sshd on SSHBED_SSHD_PORT instead when that is set: a proxy in front).
#   scripts/sshbed.sh stop DIR              stop every sshd of the bed
#   scripts/sshbed.sh stop-target DIR I     stop the sshd serving target I (from 0)
#   scripts/sshbed.sh start-target DIR I    start it again (same host key)
#   scripts/sshbed.sh handshakes DIR        sessions accepted so far (from the logs)
#
#   scripts/sshbed.sh start-behind DIR N FIRST
#       The same N targets, but inside a network namespace of their own
#       (drover-bed-FIRST), unreachable from here; with two bastions inside
#       it: bastion-0 on 127.FIRST.254.1:2222 (bridged out to the same
#       address here by socat) and bastion-1 on 127.FIRST.254.2:2222 (reached
#       only through bastion-0). Their own host key; default MaxStartups.
#       The inventory names bastion-0 as `proxyjump`. `stop` removes it all.
#       The bridge listens on SSHBED_BRIDGE_PORT instead when that is set.
#   scripts/sshbed.sh logins DIR NAME       logins on sshd NAME (bastion-0, sshd-0)
#   scripts/sshbed.sh restart DIR NAME      stop sshd NAME and its sessions, start it
#
#   SSHBED_REBOOTABLE=1 scripts/sshbed.sh start DIR N 1 [FIRST]
#       Targets that reboot: one sshd per target, each in a mount namespace
#       of its own where /usr/local/bin and /usr/local/sbin (first in the
#       login and sudo PATH) hold a fake `last` (prints the target's boot
#       time, as `last -F reboot` does) and a fake `shutdown` (for root, as
#       the Forge's reboot task runs it: the target's sshd stops with its
#       sessions, and after SSHBED_REBOOT_DOWNTIME seconds, default 2, it
#       boots: a new boot time, sshd starts again; `-P` only stops it).
#       Nothing outside the namespace changes.
#
#   SSHBED_HIDE="setsid head" scripts/sshbed.sh start DIR N ...
#       Targets without these programs (each sshd in a mount namespace where
#       /dev/null covers them): without `setsid` or `head` drover's
#       persistent shell cannot start; without `head` a task's files cannot
#       go in the same exec as its first run.
set -euo pipefail

USER_NAME=drover-test
PASSWORD=drover-bed-password
PORT=2222
# Where the targets' sshd listen when something else (the tests' latency
# proxy) listens on PORT in front of them.
SSHD_PORT=${SSHBED_SSHD_PORT:-$PORT}
# Where the bridge to bastion-0 listens (SSHBED_BRIDGE_PORT: a proxy on PORT).
BRIDGE_PORT=${SSHBED_BRIDGE_PORT:-$PORT}

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

# Inside the bed's namespace, if it has one.
in_bed() { # dir command...
  local dir=$1; shift
  if [ -s "$dir/netns" ]; then ip netns exec "$(cat "$dir/netns")" "$@"; else "$@"; fi
}

start_process() { # dir k, or dir NAME
  local dir=$1 name=$2
  [[ $name == [0-9]* ]] && name=sshd-$name
  rm -f "$dir/$name.pid"
  if [ -d "$dir/boot-$name" ]; then
    # A rebootable target: its fake `last` and `shutdown` over /usr/local.
    unshare --mount --propagation private sh -c \
      'mount --bind "$1" /usr/local/bin && mount --bind "$1" /usr/local/sbin && exec "$2" -f "$3" -E "$4"' \
      sh "$dir/boot-$name" "$SSHD" "$dir/$name.conf" "$dir/$name.log"
  elif [ -s "$dir/hide" ]; then
    unshare --mount --propagation private sh -c \
      'for p in $(cat "$4"); do mount --bind /dev/null "$(command -v "$p")" || exit 1; done
       exec "$1" -f "$2" -E "$3"' \
      sh "$SSHD" "$dir/$name.conf" "$dir/$name.log" "$dir/hide"
  else
    in_bed "$dir" "$SSHD" -f "$dir/$name.conf" -E "$dir/$name.log"
  fi
  for _ in $(seq 100); do
    [ -s "$dir/$name.pid" ] && return 0
    sleep 0.02
  done
  die "$name did not start: $(tail -3 "$dir/$name.log")"
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
    echo "ListenAddress $a:$SSHD_PORT" >> "$dir/sshd-$k.conf"
    echo "$i $k $a" >> "$dir/targets"
    echo "[$a]:$PORT $hostkey" >> "$dir/known_hosts"
    echo "      - $a" >> "$dir/inventory.yaml"
  done
  if [ -n "${SSHBED_HIDE:-}" ]; then echo "$SSHBED_HIDE" > "$dir/hide"; fi
  if [ -n "${SSHBED_REBOOTABLE:-}" ]; then
    [ "$per" -eq 1 ] || die "rebootable targets have one sshd each (PER_PROCESS 1)"
    for ((j = 0; j <= k; j++)); do rebootable "$dir" "$j"; done
  fi
  for ((j = 0; j <= k; j++)); do start_process "$dir" "$j"; done
}

# The fake `last` and `shutdown` of rebootable target K (see the top).
rebootable() {
  local dir=$1 k=$2 boot=$1/boot-sshd-$2 self
  self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
  mkdir -p "$boot"
  chmod 755 "$boot"
  date +'%a %b %e %H:%M:%S %Y' > "$boot/boot-time"
  chmod 644 "$boot/boot-time"
  cat > "$boot/last" <<'EOF'
#!/bin/sh
# The SSH test bed's `last`: this target's boot time, as `last -F reboot` prints it.
printf 'reboot   system boot  drover-bed       %s   still running\n' "$(cat "$(dirname "$0")/boot-time")"
EOF
  cat > "$boot/shutdown" <<EOF
#!/bin/sh
# The SSH test bed's shutdown for target $k: stop its sshd and sessions;
# with -r, boot again after the downtime (a new boot time, sshd back).
[ "\$(id -u)" -eq 0 ] || { echo "shutdown: must be root" >&2; exit 1; }
case " \$* " in *" -r "*) again=1 ;; *) again= ;; esac
setsid sh -c '
  "$self" stop-target "$dir" $k
  [ -n "\$1" ] || exit 0
  sleep ${SSHBED_REBOOT_DOWNTIME:-2}
  date +"%a %b %e %H:%M:%S %Y" > "$boot/boot-time"
  "$self" start-target "$dir" $k
' sh "\$again" </dev/null >>"$dir/reboots.log" 2>&1 &
EOF
  chmod 755 "$boot/last" "$boot/shutdown"
}

start_behind() {
  local dir=$1 n=$2 first=$3 ns=drover-bed-$3
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns" || die "cannot create the network namespace $ns"
  ip netns exec "$ns" ip link set lo up
  echo "$ns" > "$dir/netns"
  start "$dir" "$n" 16 "$first"
  [ -f "$dir/keys/bastion_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C bed-bastion -f "$dir/keys/bastion_ed25519"
  local key b
  key=$(cut -d' ' -f1-2 "$dir/keys/bastion_ed25519.pub")
  for b in 0 1; do
    cat > "$dir/bastion-$b.conf" <<EOF
HostKey $dir/keys/bastion_ed25519
PidFile $dir/bastion-$b.pid
AuthorizedKeysFile $dir/keys/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $USER_NAME
AllowTcpForwarding yes
LogLevel INFO
ListenAddress 127.$first.254.$(( b + 1 )):$PORT
EOF
    start_process "$dir" "bastion-$b"
    echo "[127.$first.254.$(( b + 1 ))]:$PORT $key" >> "$dir/known_hosts"
  done
  command -v socat >/dev/null || die "socat is not installed (apt-get install socat)"
  local a=127.$first.254.1
  socat "TCP-LISTEN:$BRIDGE_PORT,bind=$a,reuseaddr,fork" \
    "EXEC:ip netns exec $ns socat STDIO TCP\:$a\:$PORT" </dev/null >/dev/null 2>>"$dir/socat.log" &
  echo $! > "$dir/socat.pid"
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$a/$BRIDGE_PORT") 2>/dev/null && break
    sleep 0.02
  done
  sed -i "s|^  ssh:\$|  ssh:\n    proxyjump: $a:$PORT|" "$dir/inventory.yaml"
}

stop_all() {
  local dir=$1 conf name
  for conf in "$dir"/sshd-*.conf "$dir"/bastion-*.conf; do
    [ -e "$conf" ] || continue
    name=${conf##*/}; stop_process "$dir" "${name%.conf}"
  done
  if [ -s "$dir/socat.pid" ]; then
    pkill -TERM -P "$(cat "$dir/socat.pid")" 2>/dev/null || true
    kill -TERM "$(cat "$dir/socat.pid")" 2>/dev/null || true
    rm -f "$dir/socat.pid"
  fi
  if [ -s "$dir/netns" ]; then
    ip netns del "$(cat "$dir/netns")" 2>/dev/null || true
    rm -f "$dir/netns"
  fi
}

process_of() { awk -v i="$2" '$1 == i { print $2 }' "$1/targets"; }

stop_process() { # dir k, or dir NAME
  local name=$2
  [[ $name == [0-9]* ]] && name=sshd-$name
  local pidfile="$1/$name.pid"
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
  start-behind) [ $# -eq 4 ] || die "usage: start-behind DIR N FIRST"; start_behind "$2" "$3" "$4" ;;
  stop) stop_all "$2" ;;
  logins) grep -c '^Accepted ' "$2/$3.log" 2>/dev/null || true ;;
  restart) stop_process "$2" "$3"; start_process "$2" "$3" ;;
  stop-target) stop_process "$2" "$(process_of "$2" "$3")" ;;
  start-target) start_process "$2" "$(process_of "$2" "$3")" ;;
  handshakes) cat "$2"/sshd-*.log 2>/dev/null | grep -c '^Accepted ' || true ;;
  *) die "usage: start|start-behind|stop|stop-target|start-target|handshakes|logins|restart DIR ..." ;;
esac
