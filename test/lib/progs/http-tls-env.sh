#!/bin/sh
# HTTP/1.x responder for tests that also reports what tlswrapper told prog:
# reads the request head, answers 200 with one body line
#   "<request line> proto=$SSL_PROTOCOL cipher=$SSL_CIPHER sni=$SSL_TLS_SNI_SERVERNAME"
# (sni=- when unset), then exits.
req=
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  [ -z "$line" ] && break
  [ -z "$req" ] && req=$line
done
body="${req:-none} proto=${SSL_PROTOCOL:--} cipher=${SSL_CIPHER:--} sni=${SSL_TLS_SNI_SERVERNAME:--}
"
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "${#body}" "$body"
