#!/usr/bin/python3 -SI
# The wrapped program for tlsfuzzer (run.mjs): tlsfuzzer's scripts talk to
# `openssl s_server -www`, so after the handshake they send one HTTP/1.0
# request, possibly split over many records, and expect one application_data
# record back, then close_notify. This reads up to the blank line that ends the
# request, answers in a single write (so tlswrapper sends a single record) and
# exits, which makes tlswrapper close the connection. A client that leaves
# before its request is complete gets nothing.
import os

LIMIT = 1 << 20
BODY = b"ok\n"
REPLY = (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(BODY)) + BODY

request = b""
while b"\r\n\r\n" not in request and b"\n\n" not in request and len(request) < LIMIT:
    try:
        chunk = os.read(0, 65536)
    except OSError:
        break
    if not chunk:
        break
    request += chunk
if request:
    try:
        os.write(1, REPLY)
    except OSError:
        pass
