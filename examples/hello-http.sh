#!/bin/sh
# A minimal HTTP responder for the demo: reads the request head, answers with
# what tlswrapper told it about the connection.
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  [ -z "$line" ] && break
done
body="hello from prog behind tlswrapper: ${SSL_PROTOCOL:-?} ${SSL_CIPHER:-?} sni=${SSL_TLS_SNI_SERVERNAME:-none}
"
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' "${#body}" "$body"
