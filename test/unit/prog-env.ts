// prog's PROTO and TCP* variables: from the first complete, valid source
// (tcpserver's TCP*, tcpsvd's TCP*ADDR, systemd's REMOTE_*, the socket), normalised.
import t from 'tap';
import { normaliseIp, progEnvironment, tcpVariables } from '../../src/prog';
import type { HandshakeReport, ProxyAddresses, SocketAddresses } from '../../wire/ctl';

const sock: SocketAddresses = { localAddress: '10.0.0.1', localPort: 443, remoteAddress: '10.0.0.2', remotePort: 40000 };
const vars = (li: string, lp: string, ri: string, rp: string) =>
  ({ PROTO: 'TCP', TCPLOCALIP: li, TCPLOCALPORT: lp, TCPREMOTEIP: ri, TCPREMOTEPORT: rp });
const tcpserver = { TCPLOCALIP: '192.0.2.1', TCPLOCALPORT: '4433', TCPREMOTEIP: '192.0.2.2', TCPREMOTEPORT: '5555' };
const tcpsvd = { TCPLOCALADDR: '198.51.100.1:8443', TCPREMOTEADDR: '198.51.100.2:6666' };
const systemd = { REMOTE_ADDR: '203.0.113.9', REMOTE_PORT: '7777' };

t.test('each source alone', async (t) => {
  t.same(tcpVariables(tcpserver, null), vars('192.0.2.1', '4433', '192.0.2.2', '5555'), 'tcpserver');
  t.same(tcpVariables(tcpsvd, null), vars('198.51.100.1', '8443', '198.51.100.2', '6666'), 'tcpsvd');
  t.same(tcpVariables(systemd, sock), vars('10.0.0.1', '443', '203.0.113.9', '7777'), 'systemd: local side from the socket');
  t.equal(tcpVariables(systemd, null), null, 'systemd without a socket: no local side, no variables');
  t.same(tcpVariables({}, sock), vars('10.0.0.1', '443', '10.0.0.2', '40000'), 'the socket');
  t.equal(tcpVariables({}, null), null, 'nothing at all');
  const proxy: ProxyAddresses = { localAddress: '::ffff:1.1.1.1', localPort: 1, remoteAddress: '2001:DB8::2', remotePort: 2 };
  t.same(tcpVariables({ ...tcpserver }, sock, proxy), vars('1.1.1.1', '1', '2001:db8::2', '2'), 'a PROXY header first');
});

t.test('precedence', async (t) => {
  const all = { ...tcpserver, ...tcpsvd, ...systemd };
  t.equal(tcpVariables(all, sock)?.TCPREMOTEIP, '192.0.2.2', 'tcpserver before tcpsvd, systemd and the socket');
  t.equal(tcpVariables({ ...tcpsvd, ...systemd }, sock)?.TCPREMOTEIP, '198.51.100.2', 'tcpsvd before systemd and the socket');
  t.equal(tcpVariables(systemd, sock)?.TCPREMOTEIP, '203.0.113.9', 'systemd before the socket');
});

t.test('a source is used only when complete and valid', async (t) => {
  const socketVars = vars('10.0.0.1', '443', '10.0.0.2', '40000');
  const bad: [string, NodeJS.ProcessEnv][] = [
    ['tcpserver without TCPLOCALPORT', { ...tcpserver, TCPLOCALPORT: undefined }],
    ['tcpserver with a host name', { ...tcpserver, TCPREMOTEIP: 'example.com' }],
    ['tcpserver with port 0', { ...tcpserver, TCPREMOTEPORT: '0' }],
    ['tcpserver with port 65536', { ...tcpserver, TCPLOCALPORT: '65536' }],
    ['tcpserver with a leading zero', { ...tcpserver, TCPLOCALPORT: '0443' }],
    ['tcpserver with a sign', { ...tcpserver, TCPLOCALPORT: '+443' }],
    ['tcpserver with a newline', { ...tcpserver, TCPREMOTEIP: '192.0.2.2\nX=1' }],
    ['tcpserver with an empty value', { ...tcpserver, TCPREMOTEIP: '' }],
    ['tcpserver with a zone', { ...tcpserver, TCPREMOTEIP: 'fe80::1%eth0' }],
    ['tcpsvd without TCPREMOTEADDR', { TCPLOCALADDR: tcpsvd.TCPLOCALADDR }],
    ['tcpsvd without a port', { ...tcpsvd, TCPREMOTEADDR: '198.51.100.2' }],
    ['tcpsvd with a bad port', { ...tcpsvd, TCPREMOTEADDR: '198.51.100.2:x' }],
    ['tcpsvd with a host name', { ...tcpsvd, TCPLOCALADDR: 'localhost:8443' }],
    ['systemd without REMOTE_PORT', { REMOTE_ADDR: systemd.REMOTE_ADDR }],
    ['systemd with a bad address', { ...systemd, REMOTE_ADDR: '1.2.3' }],
  ];
  for (const [name, env] of bad) t.same(tcpVariables(env, sock), socketVars, `${name}: the next source`);
  t.equal(tcpVariables({}, { ...sock, remotePort: 0 }), null, 'a socket with port 0: nothing');
});

t.test('normalisation', async (t) => {
  t.equal(normaliseIp('::ffff:1.2.3.4'), '1.2.3.4', 'IPv4-mapped as IPv4');
  t.equal(normaliseIp('::FFFF:7f00:1'), '127.0.0.1', 'IPv4-mapped in hex as IPv4');
  t.equal(normaliseIp('[2001:db8::1]'), '2001:db8::1', 'no brackets');
  t.equal(normaliseIp('2001:0DB8:0:0:0:0:0:1'), '2001:db8::1', 'IPv6 compressed, lowercase');
  t.equal(normaliseIp('::1'), '::1');
  t.equal(normaliseIp('::'), '::');
  t.equal(normaliseIp('127.0.0.1'), '127.0.0.1');
  for (const x of ['', 'localhost', '1.2.3.256', '[1.2.3.4]', '::1]', 'fe80::1%eth0', ' 1.2.3.4', undefined]) t.equal(normaliseIp(x), null, `${JSON.stringify(x)} refused`);
  t.same(tcpVariables({ TCPLOCALADDR: '[::ffff:127.0.0.1]:443', TCPREMOTEADDR: '[2001:DB8::5]:1234' }, null),
    vars('127.0.0.1', '443', '2001:db8::5', '1234'), 'tcpsvd IPv6 in brackets');
  t.same(tcpVariables({ TCPLOCALADDR: '::1:443', TCPREMOTEADDR: '::1:1234' }, null),
    vars('::1', '443', '::1', '1234'), 'tcpsvd IPv6 without brackets: the last colon');
  t.same(tcpVariables({ ...tcpserver, TCPLOCALIP: '::ffff:192.0.2.1' }, null)?.TCPLOCALIP, '192.0.2.1', 'tcpserver\'s mapped address');
  t.same(tcpVariables({}, { ...sock, localAddress: '::ffff:127.0.0.1', remoteAddress: '::ffff:127.0.0.2' }),
    vars('127.0.0.1', '443', '127.0.0.2', '40000'), 'a dual-stack socket');
});

t.test('progEnvironment', async (t) => {
  const info: HandshakeReport = { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', group: 'x25519', serverName: null, socket: sock, proxy: null, peerCertificates: null };
  const base = { ...tcpsvd, NODE_OPTIONS: '--inspect', FOO: 'bar', TCPREMOTEIP: 'stale', PROTO: 'UDP', REMOTE_ADDR: '1.2.3.4' };
  const env = progEnvironment(base, info);
  t.equal(env.NODE_OPTIONS, undefined, 'NODE_OPTIONS removed');
  t.equal(env.FOO, 'bar', 'the rest passes on');
  t.equal(env.TCPLOCALADDR, tcpsvd.TCPLOCALADDR, 'what the super-server set stays');
  t.equal(env.REMOTE_ADDR, '1.2.3.4');
  t.match(env, vars('198.51.100.1', '8443', '198.51.100.2', '6666'), 'a stale TCPREMOTEIP makes tcpserver\'s source incomplete: tcpsvd\'s wins');
  const none = progEnvironment({ PROTO: 'UDP', TCPREMOTEIP: '9.9.9.9', TCPLOCALPORT: '1' }, { ...info, socket: null });
  for (const name of ['PROTO', 'TCPLOCALIP', 'TCPLOCALPORT', 'TCPREMOTEIP', 'TCPREMOTEPORT']) t.equal(none[name], undefined, `no source: ${name} unset, never inherited`);
  t.equal(base.PROTO, 'UDP', 'the base is not changed');
});

t.test('progEnvironment with a PROXY header', async (t) => {
  const proxy: ProxyAddresses = { localAddress: '198.51.100.7', localPort: 443, remoteAddress: '2001:db8:0:0::9', remotePort: 61000 };
  const info: HandshakeReport = { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', group: 'x25519', serverName: null, socket: sock, proxy, peerCertificates: null };
  const base = { ...tcpserver, TCPREMOTEHOST: 'lb.example', TCPREMOTEINFO: 'x', TCPREMOTEADDR: '192.0.2.2:5555', REMOTE_ADDR: '192.0.2.2', REMOTE_PORT: '5555', FOO: 'bar' };
  const env = progEnvironment(base, info);
  t.match(env, vars('198.51.100.7', '443', '2001:db8::9', '61000'), 'the header\'s source is the remote side, its destination the local side');
  for (const name of ['TCPREMOTEHOST', 'TCPREMOTEINFO', 'TCPREMOTEADDR', 'REMOTE_ADDR', 'REMOTE_PORT']) t.equal(env[name], undefined, `${name} (the proxy's) removed`);
  t.equal(env.FOO, 'bar');
  const without = progEnvironment(base, { ...info, proxy: null });
  t.equal(without.TCPREMOTEHOST, 'lb.example', 'without a header the super-server\'s variables stay');
});
