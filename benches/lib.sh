# Shared by the shell benchmarks (source it): the OpenSSH client config for a
# test bed, and the median of repeated runs. Needs `runs` set.

# Under sudo, PATH is sudo's secure_path: find the invoking user's cargo (and
# their rustup toolchains).
if ! command -v cargo >/dev/null 2>&1; then
  for home in "$HOME" ${SUDO_USER:+"$(getent passwd "$SUDO_USER" | cut -d: -f6)"}; do
    if [ -x "$home/.cargo/bin/cargo" ]; then
      PATH="$PATH:$home/.cargo/bin"
      [ -d "$home/.rustup" ] && export RUSTUP_HOME="${RUSTUP_HOME:-$home/.rustup}"
      break
    fi
  done
fi

# ssh_config FILE BED [EXTRA LINES]: OpenSSH with the bed's user, key and
# known hosts (port 2222, where the bed's inventory points), plus EXTRA.
ssh_config() {
  cat > "$1" <<CONF
Host *
  User drover-test
  Port 2222
  IdentityFile $2/keys/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $2/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
  ${3:-}
CONF
}

now() { date +%s.%N; }

# median "$@": the median wall time in seconds of $runs runs of the command.
median() {
  local times=() t0
  for ((r = 0; r < runs; r++)); do
    t0=$(now)
    if ! "$@" > /tmp/drover-bench-last.log 2>&1; then
      cp /tmp/drover-bench-last.log /tmp/drover-bench-failed.log
      echo "warning: $* failed (its output: /tmp/drover-bench-failed.log)" >&2
    fi
    times+=("$(awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }')")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }'
}
