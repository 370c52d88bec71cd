#!/bin/sh
# HTTPS on port 443 for a plaintext HTTP server on 127.0.0.1:80, under ucspi-tcp
# tcpserver: -H no remote host name lookup, -R no ident lookup, -D no Nagle
# delay, -l0 local host name "0"; -c max concurrent connections.
# Add -P 1 before the host if the backend expects a PROXY v1 header naming the
# client (nginx: listen 127.0.0.1:80 proxy_protocol).
exec tcpserver -HRDl0 -c 100 0 443 /usr/local/bin/tlswrapper -f /etc/tlswrapper/cert.pem /usr/local/bin/tlswrapper-tcp 127.0.0.1 80
