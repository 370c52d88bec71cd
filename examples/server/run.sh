#!/bin/sh
# A daemontools (/service/tlswrapper-server/run) or runit (/etc/sv/.../run) run
# script: tlswrapper-server in the foreground, listening on port 443 of every
# IPv4 address (:: for IPv6 too), at most 100 connections at once, 10 from one
# address; a certificate per host name (SNI): /etc/tlswrapper/certs/HOSTNAME.
# Its messages (-v: one line per connection) go to stdout, for the log service.
# svc -d / sv down send SIGTERM: no new connections, the running ones finish.
exec 2>&1
exec /usr/local/bin/tlswrapper-server -c 100 -C 10 0 443 -v -d /etc/tlswrapper/certs/ /usr/local/sbin/prog
