#!/bin/sh
# ucspi-tcp tcpserver: -H no remote host name lookup, -R no ident lookup,
# -D no Nagle delay, -l0 local host name "0"; -c max concurrent connections.
exec tcpserver -HRDl0 -c 100 0 443 /usr/local/bin/tlswrapper -f /etc/tlswrapper/cert.pem /usr/local/sbin/prog
