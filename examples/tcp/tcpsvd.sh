#!/bin/sh
# HTTPS on port 443 for a plaintext HTTP server on 127.0.0.1:80, under busybox
# tcpsvd (at most 100 connections at once). Debian's busybox has no tcpsvd
# applet; test/tools/busybox-tcpsvd.sh (in this repository) builds one.
exec busybox tcpsvd -c 100 0 443 /usr/local/bin/tlswrapper -f /etc/tlswrapper/cert.pem /usr/local/bin/tlswrapper-tcp 127.0.0.1 80
