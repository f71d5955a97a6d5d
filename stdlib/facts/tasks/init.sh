#!/bin/sh
# Facts in the shape of Bolt's `facts` task, from os-release, uname and
# /proc; portable sh (no bash, no facter).

# JSON string of $1.
q() {
  printf '"'
  printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\n'
  printf '"'
}

# Capitalised as facter names distributions.
os_name() {
  case "$1" in
    rhel|redhat) echo RedHat ;;
    centos) echo CentOS ;;
    ol|oracle) echo OracleLinux ;;
    sles) echo SLES ;;
    opensuse*) echo OpenSuSE ;;
    linuxmint) echo LinuxMint ;;
    freebsd) echo FreeBSD ;;
    '') uname -s ;;
    *) printf '%s' "$1" | cut -c1 | tr '[:lower:]' '[:upper:]'; printf '%s\n' "$1" | cut -c2- ;;
  esac
}

ID= ID_LIKE= VERSION_ID= VERSION_CODENAME=
for f in /etc/os-release /usr/lib/os-release; do
  if [ -r "$f" ]; then
    # Only the keys used, unquoted, never executed.
    while IFS='=' read -r key value; do
      value=$(printf '%s' "$value" | sed 's/^"//; s/"$//; s/^'"'"'//; s/'"'"'$//')
      case "$key" in
        ID) ID=$value ;;
        ID_LIKE) ID_LIKE=$value ;;
        VERSION_ID) VERSION_ID=$value ;;
        VERSION_CODENAME) VERSION_CODENAME=$value ;;
      esac
    done < "$f"
    break
  fi
done
[ -n "$VERSION_ID" ] || VERSION_ID=$(uname -r)

name=$(os_name "$ID" | tr -d '\n')
case "$ID" in
  debian|ubuntu) family=Debian ;;
  rhel|centos|fedora|ol|rocky|almalinux) family=RedHat ;;
  sles|opensuse*) family=Suse ;;
  *) first=${ID_LIKE%% *}; family=$(os_name "${first:-$ID}" | tr -d '\n') ;;
esac
major=${VERSION_ID%%.*}
minor=
case "$VERSION_ID" in
  *.*) rest=${VERSION_ID#*.}; minor=${rest%%.*} ;;
esac

processors=$(getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c '^processor' /proc/cpuinfo 2>/dev/null || echo 0)
memory_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo 2>/dev/null)
memory=$(( ${memory_kb:-0} * 1024 ))
host=$(hostname 2>/dev/null || uname -n)

printf '{"os": {"name": %s, "family": %s, "release": {"full": %s, "major": %s, "minor": %s}, "distro": {"codename": %s}}, ' \
  "$(q "$name")" "$(q "$family")" "$(q "$VERSION_ID")" "$(q "$major")" "$(q "$minor")" "$(q "$VERSION_CODENAME")"
printf '"hostname": %s, "kernel": %s, "processors": {"count": %s}, "memory": {"total_bytes": %s}}\n' \
  "$(q "$host")" "$(q "$(uname -s)")" "${processors:-0}" "$memory"
