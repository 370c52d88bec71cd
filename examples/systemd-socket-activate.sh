#!/bin/sh
# Try the systemd units' behaviour without installing them: one service
# instance per connection (-a = Accept=yes), connection on stdin/stdout (--inetd).
exec systemd-socket-activate --inetd -a -l 443 /usr/local/bin/tlswrapper -f /etc/tlswrapper/cert.pem /usr/local/sbin/prog
