#!/bin/sh
# drover stdlib task `service`: manage a service with systemd when it runs,
# else with the `service` command (SysV init scripts, OpenRC).
. "$PT__installdir/drover/files/json.sh"
need action
need name
name=$PT_name
action=$PT_action

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  manager=systemd
elif command -v service >/dev/null 2>&1; then
  manager=service
elif command -v rc-service >/dev/null 2>&1; then
  manager=openrc
else
  fail drover.service/no-manager "neither systemd, the service command nor rc-service is available"
fi

# status: "running" or "stopped"; an unknown service is an error.
status() {
  case $manager in
    systemd)
      systemctl cat -- "$name" >/dev/null 2>&1 ||
        fail drover.service/unknown "no service '$name'"
      if systemctl is-active --quiet -- "$name"; then echo running; else echo stopped; fi ;;
    service|openrc)
      if [ $manager = service ]; then
        [ -e "/etc/init.d/$name" ] ||
          fail drover.service/unknown "no service '$name' (no /etc/init.d/$name)"
        out=$(service "$name" status 2>&1); rc=$?
      else
        out=$(rc-service "$name" status 2>&1); rc=$?
      fi
      case $rc in
        0) echo running ;;
        1|2|3) echo stopped ;;
        *) fail drover.service/unknown "cannot get the status of '$name': $out" ;;
      esac ;;
  esac
}

enabled() {
  case $manager in
    systemd) state=$(systemctl is-enabled -- "$name" 2>/dev/null)
      case $state in enabled*|static|alias|indirect) echo enabled ;; disabled|masked*) echo disabled ;; *) echo unknown ;; esac ;;
    openrc) if rc-update show 2>/dev/null | grep -q "^ *$name |"; then echo enabled; else echo disabled; fi ;;
    service) if ls /etc/rc[2345S].d/S*"$name" >/dev/null 2>&1; then echo enabled
             elif [ -x "/etc/init.d/$name" ]; then echo disabled; else echo unknown; fi ;;
  esac
}

run() {
  out=$("$@" 2>&1) ||
    fail drover.service/failed "'$*' failed" "{\"output\": $(json_str "$out")}"
}

# `fail` inside $(...) only leaves the subshell: pass its error on.
state=$(status) || { printf '%s\n' "$state"; exit 1; }

if [ "$PT__noop" = true ]; then
  printf '{"name": %s, "action": %s, "noop": true, "status": "%s", "manager": "%s"}\n' \
    "$(json_str "$name")" "$(json_str "$action")" "$state" "$manager"
  exit 0
fi

case $action in
  status) ;;
  enable|disable)
    case $manager in
      systemd) run systemctl "$action" -- "$name" ;;
      openrc) if [ "$action" = enable ]; then run rc-update add "$name"; else run rc-update del "$name"; fi ;;
      service)
        if command -v update-rc.d >/dev/null 2>&1; then
          if [ "$action" = enable ]; then run update-rc.d "$name" defaults; run update-rc.d "$name" enable
          else run update-rc.d "$name" disable; fi
        elif command -v chkconfig >/dev/null 2>&1; then
          if [ "$action" = enable ]; then run chkconfig "$name" on; else run chkconfig "$name" off; fi
        else
          fail drover.service/unsupported "cannot $action '$name': no update-rc.d or chkconfig"
        fi ;;
    esac ;;
  *)
    case $manager in
      systemd) run systemctl "$action" -- "$name" ;;
      service) run service "$name" "$action" ;;
      openrc) run rc-service "$name" "$action" ;;
    esac ;;
esac

state=$(status) || { printf '%s\n' "$state"; exit 1; }
printf '{"name": %s, "action": %s, "status": "%s", "enabled": "%s", "manager": "%s"}\n' \
  "$(json_str "$name")" "$(json_str "$action")" "$state" "$(enabled)" "$manager"
