#!/bin/sh
# Example task `vm::move_storage`: copy each disk of a running VM into the
# target pool with `virsh blockcopy --pivot`.
if ! command -v virsh >/dev/null 2>&1; then
  echo '{"_error": {"kind": "vm/no-libvirt", "msg": "virsh is not installed on this host", "details": {}}}'
  exit 1
fi
pool_dir=$(virsh pool-dumpxml "$PT_datastore" | sed -n 's:.*<path>\(.*\)</path>.*:\1:p')
[ -n "$pool_dir" ] || { echo "{\"_error\": {\"kind\": \"vm/no-pool\", \"msg\": \"no storage pool $PT_datastore\"}}"; exit 1; }
moved=0
for disk in $(virsh domblklist "$PT_vm" --details | awk '$2 == "disk" { print $3 }'); do
  source=$(virsh domblklist "$PT_vm" | awk -v d="$disk" '$1 == d { print $2 }')
  virsh blockcopy "$PT_vm" "$disk" "$pool_dir/$(basename "$source")" --wait --pivot --transient-job >&2 || exit 1
  moved=$((moved + 1))
done
echo "{\"vm\": \"$PT_vm\", \"datastore\": \"$PT_datastore\", \"disks_moved\": $moved}"
