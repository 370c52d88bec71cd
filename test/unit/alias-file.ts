// tlswrapper-alias's pure parts: the alias file, the peer hash from the
// environment, the alias charset, the command line.
import t from 'tap';
import { aliasLine, DEFAULT_FILE, parseAliasFile, parseArgs, peerHash, validAlias, validHash } from '../../alias/parse';

const A = 'a'.repeat(64);
const B = '0123456789abcdef'.repeat(4);
const C = 'c'.repeat(64);

function err(text: string): string {
  const r = parseAliasFile(text);
  return r.ok ? '(parsed)' : r.error;
}

t.test('good files', async (t) => {
  const r = parseAliasFile(`${A} alice\n${B} bob\n`);
  t.ok(r.ok);
  if (!r.ok) return;
  t.same([...r.table.byHash], [[A, 'alice'], [B, 'bob']]);
  t.same([...r.table.byAlias], [['alice', A], ['bob', B]]);
  const empty = parseAliasFile('');
  t.ok(empty.ok && empty.table.byHash.size === 0, 'empty file: empty table');
  const noNl = parseAliasFile(`${A} alice`);
  t.ok(noNl.ok && noNl.table.byHash.get(A) === 'alice', 'last line without its newline');
  const spaced = parseAliasFile(`  ${A}\t \talice \t\n`);
  t.ok(spaced.ok && spaced.table.byHash.get(A) === 'alice', 'blanks (spaces, tabs) around and between fields');
  t.equal(aliasLine(A, 'alice'), `${A} alice\n`, 'the line a registration appends');
  const back = parseAliasFile(aliasLine(A, 'alice') + aliasLine(B, 'b.o_b-1'));
  t.ok(back.ok && back.table.byHash.get(B) === 'b.o_b-1', 'appended lines parse');
});

t.test('comments and blank lines', async (t) => {
  const r = parseAliasFile(`# aliases\n\n   \n\t# indented comment\n${A} alice\n#${B} bob\n\n`);
  t.ok(r.ok);
  if (!r.ok) return;
  t.same([...r.table.byHash], [[A, 'alice']], 'a commented-out entry is not an entry');
});

t.test('malformed lines: the error names the line', async (t) => {
  t.match(err(`# c\n\n${A}\n`), /^line 3: /, 'hash without alias');
  t.match(err(`${A} alice\n${B} bob extra\n`), /^line 2: /, 'three fields');
  t.match(err(`${A} alice\nalice ${A}\n`), /^line 2: .*hex/, 'swapped fields');
  t.match(err(`${A.slice(1)} alice\n`), /^line 1: .*hex/, '63 digits');
  t.match(err(`${A}a alice\n`), /^line 1: .*hex/, '65 digits');
  t.match(err(`SHA256:${A} alice\n`), /^line 1: .*hex/, 'the SHA256: prefix is not part of the file format');
  t.match(err(`\n\n\n\n${A} Alice\n`), /^line 5: bad alias/, 'uppercase alias');
  t.match(err(`${A} al ice\n`), /^line 1: /, 'alias with a blank');
  t.match(err(`${A} alice\r\n`), /^line 1: bad alias/, 'CRLF: the CR is refused');
  t.match(err(`${A} ${'x'.repeat(33)}\n`), /^line 1: bad alias/, '33-byte alias');
  t.match(err(`${A} alice # comment\n`), /^line 1: /, 'no trailing comments');
});

t.test('uppercase hex is refused', async (t) => {
  t.match(err(`${A.toUpperCase()} alice\n`), /^line 1: .*lowercase hex/);
  t.match(err(`${B.slice(0, 63)}F alice\n`), /^line 1: .*lowercase hex/, 'one uppercase digit');
});

t.test('duplicates', async (t) => {
  t.match(err(`${A} alice\n${B} bob\n# x\n${A} carol\n`), /^line 4: hash given twice \(first as alice\)/, 'duplicate hash');
  t.match(err(`${A} alice\n${B} alice\n`), /^line 2: alias alice given twice/, 'duplicate alias');
  t.match(err(`${A} alice\n${A} alice\n`), /^line 2: /, 'the same line twice');
  t.ok(parseAliasFile(`${A} alice\n${B} bob\n${C} carol\n`).ok, 'all different: fine');
});

t.test('hash from the environment', async (t) => {
  t.same(peerHash({ SSL_PEER_CERT_HASH: `SHA256:${A}` }), { kind: 'hash', hash: A, from: 'SSL_PEER_CERT_HASH' });
  t.same(peerHash({ SHA256: B }), { kind: 'hash', hash: B, from: 'SHA256' });
  t.same(peerHash({ SSL_PEER_CERT_HASH: `SHA256:${A}`, SHA256: B }), { kind: 'hash', hash: A, from: 'SSL_PEER_CERT_HASH' },
    'both set: SSL_PEER_CERT_HASH wins');
  t.same(peerHash({ SSL_PEER_CERT_HASH: 'SHA256:zz', SHA256: B }), { kind: 'malformed', from: 'SSL_PEER_CERT_HASH' },
    'a malformed SSL_PEER_CERT_HASH is refused, no fall-back to SHA256');
  t.same(peerHash({ SSL_PEER_CERT_HASH: '', SHA256: B }), { kind: 'malformed', from: 'SSL_PEER_CERT_HASH' }, 'set but empty: malformed');
  t.same(peerHash({}), { kind: 'none' });
  t.same(peerHash({ OTHER: A }), { kind: 'none' });
  for (const [what, v] of [
    ['no prefix', A], ['sha256: lowercase prefix', `sha256:${A}`], ['SHA1 prefix', `SHA1:${A}`],
    ['uppercase hex', `SHA256:${A.toUpperCase()}`], ['63 digits', `SHA256:${A.slice(1)}`], ['65 digits', `SHA256:${A}0`],
    ['trailing newline', `SHA256:${A}\n`], ['leading blank', ` SHA256:${A}`], ['colons', `SHA256:${'aa:'.repeat(31)}aa`],
  ] as const) {
    t.equal(peerHash({ SSL_PEER_CERT_HASH: v }).kind, 'malformed', `SSL_PEER_CERT_HASH ${what}`);
  }
  for (const [what, v] of [
    ['with the prefix', `SHA256:${A}`], ['uppercase', B.toUpperCase()], ['empty', ''], ['63 digits', A.slice(1)], ['trailing newline', `${A}\n`],
  ] as const) {
    t.equal(peerHash({ SHA256: v }).kind, 'malformed', `SHA256 ${what}`);
  }
  t.ok(validHash(B));
  t.notOk(validHash('g'.repeat(64)));
});

t.test('alias charset', async (t) => {
  for (const a of ['a', '0', 'bob', 'b0b', 'alice.smith', 'a_b-c.d', 'x'.repeat(32), '9lives', 'a.', 'a-']) t.ok(validAlias(a), `${a} allowed`);
  for (const a of ['', 'Bob', 'ALICE', '.bob', '-bob', '_bob', 'x'.repeat(33), 'a b', 'a/b', '../etc', 'a\n', 'a\r', 'bob\0', 'é', 'a:b', 'a@b', 'a#']) {
    t.notOk(validAlias(a), `${JSON.stringify(a)} refused`);
  }
});

t.test('command line', async (t) => {
  const ok = (argv: string[]) => {
    const r = parseArgs(argv);
    if (!r.ok) throw new Error(r.error);
    return r.options;
  };
  t.same(ok(['prog']), { file: DEFAULT_FILE, register: false, verbosity: 1, prog: ['prog'] });
  t.same(ok(['-f', 'x', '-a', '-v', 'sh', '-c', 'echo']), { file: 'x', register: true, verbosity: 2, prog: ['sh', '-c', 'echo'] });
  t.same(ok(['-avfx', 'p']), { file: 'x', register: true, verbosity: 2, prog: ['p'] }, 'bundled, argument attached');
  t.same(ok(['-q', '--', '-prog', '-a']), { file: DEFAULT_FILE, register: false, verbosity: 0, prog: ['-prog', '-a'] }, '-- ends options');
  t.same(ok(['-a', 'p', '-q']).prog, ['p', '-q'], 'options end at prog');
  t.match(parseArgs([]), { ok: false, error: /no prog/ });
  t.match(parseArgs(['-a']), { ok: false, error: /no prog/ });
  t.match(parseArgs(['-f']), { ok: false, error: /-f needs/ });
  t.match(parseArgs(['-x', 'p']), { ok: false, error: /unknown option -x/ });
});
