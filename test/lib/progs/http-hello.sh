#!/bin/sh
# Minimal HTTP/1.x responder for tests: reads the request head from stdin,
# answers 200 with a one-line body naming the request line, then exits.
req=
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  [ -z "$line" ] && break
  [ -z "$req" ] && req=$line
done
body="hello over tls: ${req:-none}
"
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "${#body}" "$body"
