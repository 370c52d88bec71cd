#!/bin/sh
# SMTP with STARTTLS on port 25 for an inetd-style SMTP server without TLS
# (/usr/local/bin/smtpd, run as the user smtpd), under busybox tcpsvd (at most
# 100 connections at once). Debian's busybox has no tcpsvd applet;
# test/tools/busybox-tcpsvd.sh (in this repository) builds one.
exec busybox tcpsvd -c 100 0 25 /usr/local/bin/tlswrapper -n -f /etc/tlswrapper/cert.pem /usr/local/bin/tlswrapper-smtp -u smtpd /usr/local/bin/smtpd
