import t from 'tap';
import { validateServerName } from '../../lib/hostname';
import { printable } from '../../lib/log';

t.test('good names', async (t) => {
  for (const [input, want] of [
    ['', ''],
    ['example.com', 'example.com'],
    ['a', 'a'],
    ['WWW.Example.COM', 'www.example.com'],
    ['example.com.', 'example.com'],
    ['x-1.y_2.z', 'x-1.y_2.z'],
    ['a'.repeat(63) + '.b', 'a'.repeat(63) + '.b'],
    [('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(61), ('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(61)], // 253 bytes
    [('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(61) + '.', ('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(61)], // + trailing dot
  ]) {
    const r = validateServerName(input);
    t.same(r, { ok: true, name: want }, JSON.stringify(input));
  }
});

t.test('bad names', async (t) => {
  const bad = [
    '.',
    '..',
    '../x',
    '.x',
    'a/.b',
    'a/b',
    '/etc/shadow',
    'a\0b',
    '\0',
    'a..b',
    'example.com..',
    'a.'.repeat(150),
    'a'.repeat(300),
    'a'.repeat(254),
    ('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(62), // 254 bytes
    'a'.repeat(64) + '.com',
    'a b',
    'a*.com',
    'é.com',
    'a:b',
    'a\\b',
    'a\nb',
  ];
  for (const input of bad) {
    const r = validateServerName(input);
    t.equal(r.ok, false, JSON.stringify(input));
  }
});

t.test('printable escapes what a log line must not carry', async (t) => {
  t.equal(printable('a\0b\n\'c\\'), 'a\\x00b\\x0a\\x27c\\x5c');
  t.equal(printable('x'.repeat(10), 4), 'xxxx...');
});
