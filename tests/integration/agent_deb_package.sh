#!/usr/bin/env bash
# CPack builds ispeed-agent_<version>_amd64.deb (and the server, collector
# and dev packages); installed into a throw-away root it has the binary, the
# hardened systemd unit, the default configuration as a conffile, and it
# does not start testing before a commune is configured. The server and
# collector packages carry their configuration files as conffiles too, and
# their units read them.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"

cpack --config "$BUILD/CPackConfig.cmake" -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1 || fail "cpack: $(tail -5 "$WORK/cpack.log")"
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")/\1/p' "$BUILD/CPackConfig.cmake")
deb="$WORK/pkg/ispeed-agent_${version}_amd64.deb"
[ -f "$deb" ] || fail "no $deb; got: $(ls "$WORK/pkg")"
for p in server collector dev; do
  [ -f "$WORK/pkg/ispeed-${p}_${version}_amd64.deb" ] || fail "no ispeed-$p package"
done
note "$(basename "$deb"): $(stat -c %s "$deb") bytes"

dpkg-deb -f "$deb" Package | grep -qx ispeed-agent || fail "package name"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in librdkafka1 libevent-2.1-7 libsodium23 libzstd1 libprotobuf-c1 libinih1 adduser; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
dpkg-deb -e "$deb" "$WORK/control"
grep -qx /etc/ispeed/agent.conf "$WORK/control/conffiles" || fail "agent.conf is not a conffile"
grep -q 'adduser --system' "$WORK/control/postinst" || fail "postinst does not create the system user"
if grep -Eq '^[[:space:]]*(systemctl|deb-systemd-invoke|deb-systemd-helper) +(start|restart|enable)' "$WORK/control/postinst"; then
  fail "postinst starts the service before a commune is configured"
fi

root="$WORK/root"
dpkg -x "$deb" "$root"
for f in usr/bin/ispeed-agent lib/systemd/system/ispeed-agent.service etc/ispeed/agent.conf usr/share/ispeed/units.csv; do
  [ -s "$root/$f" ] || fail "missing /$f"
done
unit="$root/lib/systemd/system/ispeed-agent.service"
for line in User=ispeed StateDirectory=ispeed ProtectSystem=strict NoNewPrivileges=yes Restart=on-failure \
            'ExecStart=/usr/bin/ispeed-agent run --config /etc/ispeed/agent.conf'; do
  grep -q "^$line" "$unit" || fail "unit lacks $line"
done
cmp -s "$root/etc/ispeed/agent.conf" "$(dirname "$0")/../../deploy/agent.conf.example" || fail "installed config differs from deploy/agent.conf.example"
"$root/usr/bin/ispeed-agent" --help >"$WORK/help" || fail "--help failed"
grep -q 'ispeed-agent run' "$WORK/help" || fail "--help lacks the run command"

# The installed configuration has no commune: the daemon idles out at once.
rc=0
timeout 20 "$root/usr/bin/ispeed-agent" run --config "$root/etc/ispeed/agent.conf" --state-dir "$WORK/state" \
  2>"$WORK/run.log" || rc=$?
[ "$rc" = 0 ] || fail "daemon without commune: exit $rc: $(cat "$WORK/run.log")"
grep -q 'no commune configured' "$WORK/run.log" || fail "daemon did not say why it idles: $(cat "$WORK/run.log")"
[ ! -e "$WORK/state/seq" ] || fail "a test ran without a commune"
# The server and the collector: /etc/ispeed/<p>.conf is a conffile, equal to
# deploy/<p>.conf.example, and the unit starts the program on it.
for p in server collector; do
  pdeb="$WORK/pkg/ispeed-${p}_${version}_amd64.deb"
  dpkg-deb -e "$pdeb" "$WORK/control-$p"
  grep -qx "/etc/ispeed/$p.conf" "$WORK/control-$p/conffiles" || fail "$p.conf is not a conffile of ispeed-$p"
  dpkg-deb -x "$pdeb" "$WORK/root-$p"
  cmp -s "$WORK/root-$p/etc/ispeed/$p.conf" "$(dirname "$0")/../../deploy/$p.conf.example" \
    || fail "installed $p.conf differs from deploy/$p.conf.example"
  [ -s "$WORK/root-$p/usr/share/doc/ispeed-$p/$p.conf.example" ] || fail "ispeed-$p lacks the documented example"
  grep -q "^ExecStart=/usr/bin/ispeed-$p --config /etc/ispeed/$p.conf" "$WORK/root-$p/lib/systemd/system/ispeed-$p.service" \
    || fail "ispeed-$p.service does not start on /etc/ispeed/$p.conf"
done
echo PASS
