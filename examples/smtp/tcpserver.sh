#!/bin/sh
# SMTP with STARTTLS on port 25 for an inetd-style SMTP server without TLS
# (/usr/local/bin/smtpd, run as the user smtpd), under ucspi-tcp tcpserver:
# -H no remote host name lookup, -R no ident lookup, -D no Nagle delay, -l0
# local host name "0"; -c max concurrent connections. tlswrapper -n starts
# the session in plaintext; tlswrapper-smtp offers STARTTLS and asks
# tlswrapper for TLS when the client says it.
exec tcpserver -HRDl0 -c 100 0 25 /usr/local/bin/tlswrapper -n -f /etc/tlswrapper/cert.pem /usr/local/bin/tlswrapper-smtp -u smtpd /usr/local/bin/smtpd
