#!/bin/sh
# Example task `vm::list`: {"vms": [{"name": ..., "size_gb": ...}]} from libvirt.
if ! command -v virsh >/dev/null 2>&1; then
  echo '{"_error": {"kind": "vm/no-libvirt", "msg": "virsh is not installed on this host", "details": {}}}'
  exit 1
fi
printf '{"cluster": "%s", "vms": [' "${PT_cluster:-}"
sep=
for vm in $(virsh list --all --name); do
  bytes=0
  for disk in $(virsh domblklist "$vm" --details | awk '$2 == "disk" { print $4 }'); do
    size=$(virsh domblkinfo "$vm" "$disk" | awk '/Capacity/ { print $2 }')
    bytes=$((bytes + ${size:-0}))
  done
  printf '%s{"name": "%s", "size_gb": %s}' "$sep" "$vm" $((bytes / 1073741824))
  sep=', '
done
echo ']}'
