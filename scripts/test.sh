#!/usr/bin/env bash
# The whole test suite: installs what the tests run for real when it is
# missing (HAProxy, socat, iproute2 for network namespaces, OpenSSH's sshd,
# sudo, tmux, curl, Ruby, OpenSSL, PostgreSQL's server binaries, Chromium
# for the HTML reports), then
# `cargo test`, then the SSH tests (but the 1,000-target ones) again at 50 ms
# RTT. Extra arguments go to cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in haproxy:haproxy socat:socat sshd:openssh-server sudo:sudo ssh-keygen:openssh-client tmux:tmux curl:curl ruby:ruby openssl:openssl ip:iproute2 chromium:chromium; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin" command -v "${tool%%:*}" >/dev/null 2>&1 ||
    missing+=("${tool#*:}")
done
# The state store's tests make throwaway clusters with initdb and pg_ctl.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# Building links the system OpenSSL (the pkcs7 plugin).
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev pkg-config)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing ${missing[*]} for the tests" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cargo test "$@"
# The SSH tests once more behind the latency proxy at 50 ms RTT (tests/common/
# latency.rs), unless the arguments pick tests of their own.
case " $* " in
  *" --test "* | *" -- "*) ;;
  *) DROVER_BED_RTT_MS=50 cargo test "$@" --test ssh --test ssh_config --test bastion ;;
esac
