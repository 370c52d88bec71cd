#!/usr/bin/python3
# A tiny inetd-style SMTP server for tests: commands on stdin, replies on
# stdout, no TLS. It appends JSON lines to the file in $SMTP_FIXTURE_LOG:
#   {"event": "start", "pid", "uid", "gid", "groups", "env", "fds"}   at start
#   {"event": "command", "pid", "line"}     each command line as received (no CRLF)
#   {"event": "message", "pid", "from", "rcpt", "data"}  each message accepted
#   {"event": "exit", "pid", "status", "why"}
# EHLO answers a multi-line reply (SMTP_FIXTURE_EHLO=one: a single line);
# QUIT exits with $SMTP_FIXTURE_STATUS (default 0); EOF on stdin exits 3.
# It never offers or accepts STARTTLS: seeing one is an error it logs.
import json, os, sys

log_path = os.environ.get('SMTP_FIXTURE_LOG')
pid = os.getpid()

def record(event, **kw):
    if not log_path:
        return
    kw.update(event=event, pid=pid)
    with open(log_path, 'a') as f:
        f.write(json.dumps(kw) + '\n')

def fds():
    return sorted(int(n) for n in os.listdir('/proc/self/fd'))

record('start', uid=os.getuid(), gid=os.getgid(), groups=os.getgroups(),
       env=dict(os.environ), fds=fds())

out = sys.stdout.buffer
inp = sys.stdin.buffer

def say(*lines):
    out.write(b''.join(l.encode() + b'\r\n' for l in lines))
    out.flush()

def leave(status, why):
    record('exit', status=status, why=why)
    sys.exit(status)

say('220 fixture.example ESMTP fixture')
sender = None
rcpts = []
count = 0
while True:
    raw = inp.readline()
    if not raw:
        leave(3, 'eof')
    line = raw.rstrip(b'\r\n').decode('latin1')
    record('command', line=line)
    verb = line.split(' ', 1)[0].upper()
    arg = line[len(verb):].strip()
    if verb == 'EHLO':
        sender, rcpts = None, []
        if os.environ.get('SMTP_FIXTURE_EHLO') == 'one':
            say('250 fixture.example')
        else:
            say('250-fixture.example hello ' + arg, '250-PIPELINING', '250-8BITMIME', '250 SIZE 10000000')
    elif verb == 'HELO':
        sender, rcpts = None, []
        say('250 fixture.example')
    elif verb == 'MAIL':
        sender, rcpts = arg[5:].strip() if arg.upper().startswith('FROM:') else arg, []
        say('250 2.1.0 sender ok')
    elif verb == 'RCPT':
        if sender is None:
            say('503 5.5.1 MAIL first')
        else:
            rcpts.append(arg[3:].strip() if arg.upper().startswith('TO:') else arg)
            say('250 2.1.5 recipient ok')
    elif verb == 'DATA':
        if sender is None or not rcpts:
            say('503 5.5.1 no valid recipients')
            continue
        say('354 go ahead')
        body = []
        while True:
            b = inp.readline()
            if not b:
                leave(3, 'eof in data')
            if b in (b'.\r\n', b'.\n'):
                break
            body.append(b[1:] if b.startswith(b'.') else b)
        count += 1
        record('message', **{'from': sender, 'rcpt': rcpts, 'data': b''.join(body).decode('latin1')})
        sender, rcpts = None, []
        say('250 2.0.0 ok: queued as %d.%d' % (pid, count))
    elif verb == 'RSET':
        sender, rcpts = None, []
        say('250 2.0.0 flushed')
    elif verb == 'NOOP':
        say('250 2.0.0 ok')
    elif verb == 'QUIT':
        say('221 2.0.0 fixture.example bye')
        leave(int(os.environ.get('SMTP_FIXTURE_STATUS', '0')), 'quit')
    else:
        say('502 5.5.2 fixture: unknown command')
