#!/bin/sh
# busybox tcpsvd: listen on all addresses, port 443, at most 100 connections at once.
# (Debian's busybox has no tcpsvd applet; test/tools/busybox-tcpsvd.sh in this repository builds one.)
exec busybox tcpsvd -c 100 0 443 /usr/local/bin/tlswrapper -f /etc/tlswrapper/cert.pem /usr/local/sbin/prog
