// Quoting, differentially against GNU coreutils 9.1 itself: every name of hostile-names.ts is
// created on the host, listed by /bin/ls with each quoting option (to a pipe, and on a terminal
// through script(1)) under LC_ALL=C.UTF-8, and dbox's quoting of the same name must give the same
// bytes; GNU cat/ls/cp's messages about the same names, missing, must equal dbox's.
// Intended differences are asserted as such at the end.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {lsQuoting, lsQuotingArgs} from '../../src/format/ls-quoting.js';
import {escapeControls, qmark, quoteaf, quotearg, quotef, quoteName, quotingStyles} from '../../src/format/quote.js';
import {bytesName, decodeChar, isPrintable, nameBytes, writableBytes} from '../../src/format/utf8.js';
import {fsMessage} from '../../src/shell/report.js';
import {FsError} from '../../src/errors.js';
import {hostileNames} from './hostile-names.js';

const gnuLs = spawnSync('/bin/ls', ['--version'], {encoding: 'utf8'}).stdout ?? '';
const haveGnu = /GNU coreutils\) 9\./.test(gnuLs) && spawnSync('script', ['--version']).status === 0;
if (!haveGnu && process.env['CI'] === 'true') throw new Error('CI=true but GNU coreutils 9 (/bin/ls) or script(1) is missing');

const env: NodeJS.ProcessEnv = {...process.env, LC_ALL: 'C.UTF-8', COLUMNS: '80'};
delete env['QUOTING_STYLE'];

interface OptionSet {
  readonly args: readonly string[];
  /** Run on a terminal (script(1)) instead of a pipe. */
  readonly tty: boolean;
}

const sets: OptionSet[] = [
  {args: [], tty: false},
  ...quotingStyles.flatMap((s) => [{args: [`--quoting-style=${s}`], tty: false}, {args: [`--quoting-style=${s}`, '-q'], tty: false}]),
  {args: ['-N'], tty: false}, {args: ['-b'], tty: false}, {args: ['-Q'], tty: false}, {args: ['-q'], tty: false},
  {args: ['-N', '-q'], tty: false}, {args: ['-q', '-b'], tty: false}, {args: ['-b', '-N'], tty: false},
  {args: ['-Q', '--show-control-chars'], tty: false}, {args: ['-q', '--show-control-chars'], tty: false},
  {args: [], tty: true}, {args: ['-N'], tty: true}, {args: ['-b'], tty: true}, {args: ['-Q'], tty: true}, {args: ['-q'], tty: true},
  {args: ['--quoting-style=shell'], tty: true}, {args: ['--quoting-style=shell-always'], tty: true},
  {args: ['--quoting-style=c-maybe'], tty: true}, {args: ['--quoting-style=locale'], tty: true},
  {args: ['-N', '--show-control-chars'], tty: true}, // an intended difference: see differs()
];
const setLabel = (s: OptionSet): string => `${s.tty ? 'tty' : 'pipe'} ${s.args.join(' ') || '(default)'}`;

const dir = (k: number): string => `QZ${String(k).padStart(3, '0')}QZ`;
const show = (b: Buffer): string => JSON.stringify(bytesName(b));

describe.runIf(haveGnu)('quoting against GNU coreutils 9.1', () => {
  let root: string;
  /** GNU's output, per option set, cut into one chunk per name. */
  const gnu = new Map<string, Buffer[]>();

  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-quote-'));
    // H/QZkkkQZ/<name k>/ : `ls -R` shows the name as an entry, then as a directory header.
    hostileNames.forEach((n, k) => {
      const d = Buffer.from(path.join(root, dir(k)) + '/');
      fs.mkdirSync(d.toString());
      fs.mkdirSync(Buffer.concat([d, n.bytes]));
    });
    const operands = hostileNames.map((_, k) => dir(k));
    for (const set of sets) {
      const argv = ['-1', '-R', '-A', ...set.args, ...operands];
      const out = set.tty
        ? execFileSync('script', ['-qfc', `stty -onlcr; exec /bin/ls ${argv.join(' ')}`, '/dev/null'], {cwd: root, env, maxBuffer: 1 << 26})
        : execFileSync('/bin/ls', argv, {cwd: root, env, maxBuffer: 1 << 26});
      gnu.set(setLabel(set), cutChunks(out));
    }
  }, 120_000);
  afterAll(() => {
    if (root) fs.rmSync(root, {recursive: true, force: true});
  });

  /** Splits ls's output at each operand's header (`QZkkkQZ:`, quoted or not). */
  function cutChunks(out: Buffer): Buffer[] {
    const text = out.toString('latin1'); // one char a byte: offsets are byte offsets
    const header = /(?:^|\n)(?:['"]|\u00e2\u0080\u0098)?QZ(\d{3})QZ(?:['"]|\u00e2\u0080\u0099)?:\n/g;
    const marks: {k: number; start: number; end: number}[] = [];
    for (const m of text.matchAll(header)) marks.push({k: Number(m[1]), start: m.index!, end: m.index! + m[0].length});
    return marks.map((m, i) => out.subarray(m.end, i + 1 < marks.length ? marks[i + 1]!.start : out.length));
  }

  /** What dbox's ls prints for operand k: the name as an entry, then its directory header. */
  function dboxChunk(set: OptionSet, k: number): Buffer {
    const options = lsQuotingArgs(set.args);
    const q = lsQuoting(options.choice, set.tty, undefined, 'one');
    const n = hostileNames[k]!;
    const entry = quoteName(n.name, q.names).text;
    const header = quoteName(`${dir(k)}/${n.name}`, q.dirs).text;
    return writableBytes(`${entry}\n\n${header}:\n`);
  }

  const cases = sets.flatMap((set) => hostileNames.map((n, k) => ({set, k, label: `${setLabel(set)}: ${n.label}`})));
  /** GNU writes raw controls to a terminal when asked to; dbox never does (ls-quoting.ts). */
  const differs = (set: OptionSet): boolean => set.tty && set.args.includes('--show-control-chars');
  const rawControl = (b: Buffer): boolean => /[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]/.test(b.toString('latin1'));

  it.each(cases)('ls $label', ({set, k}) => {
    const chunks = gnu.get(setLabel(set))!;
    expect(chunks).toHaveLength(hostileNames.length);
    const want = chunks[k]!;
    const got = dboxChunk(set, k);
    if (!differs(set)) expect(show(got), `bytes ${got.toString('hex')} vs ${want.toString('hex')}`).toBe(show(want));
    else expect(rawControl(got)).toBe(false);
  });

  describe('error messages', () => {
    /** stderr of GNU cat, ls and cp on each name, missing: three lines a name. */
    let lines: Buffer[] = [];
    beforeAll(() => {
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-quote-missing-'));
      const octal = (bytes: Buffer): string => [...bytes].map((x) => `\\${x.toString(8).padStart(3, '0')}`).join('');
      const script = hostileNames.map((n) =>
        `n=$(printf '${octal(n.bytes)}x'); n=\${n%x}; if [ "$n" = - ]; then echo 'cat: (reads stdin)' >&2; else cat -- "$n"; fi; ls -- "$n"; cp -- "$n" ./nowhere/`).join('\n');
      const r = spawnSync('bash', ['-c', script], {cwd: empty, env});
      fs.rmSync(empty, {recursive: true, force: true});
      const err = r.stderr;
      lines = [];
      let start = 0;
      for (let i = 0; i < err.length; i++) {
        if (err[i] === 0x0a) {
          lines.push(err.subarray(start, i));
          start = i + 1;
        }
      }
    });

    it.each(hostileNames.map((n, k) => ({...n, k})))('cat, ls and cp on a missing $label', ({name, k}) => {
      expect(lines).toHaveLength(hostileNames.length * 3);
      const e = new FsError('ENOENT', name);
      const dbox = [
        name === '-' ? 'cat: (reads stdin)' : fsMessage('cat', e, name),
        fsMessage('ls', e, name, (w) => `cannot access ${w}`),
        // cp.ts's template, written before quoting moved to report.ts
        fsMessage('cp', e, name, (w) => `cannot stat '${w}'`),
      ].map((m) => show(writableBytes(m)));
      expect(dbox).toEqual(lines.slice(k * 3, k * 3 + 3).map(show));
    });
  });
});

describe('quote module', () => {
  it('round-trips bytes through names, invalid bytes as U+DC80..U+DCFF', () => {
    for (const n of hostileNames) expect(Buffer.from(nameBytes(n.name)).equals(n.bytes)).toBe(true);
    expect(bytesName(Buffer.from([0x61, 0xff]))).toBe('a\udcff');
    expect(Buffer.from(nameBytes('\ud800'))).toEqual(Buffer.from([0xed, 0xa0, 0x80])); // a lone surrogate from JSON
  });

  it('quotes raw bytes as GNU shows them', () => {
    expect(quotearg('\udcff', 'shell-escape')).toBe("''$'\\377'");
    expect(quotearg('\udcff', 'escape')).toBe('\\377');
    expect(quotearg('a\udcffb', 'c')).toBe('"a\\377b"');
    expect(quotef('\x1b]0;x')).toBe("''$'\\033'']0;x'");
    expect(quoteaf("it's")).toBe('"it\'s"');
    expect(quotef('a:b')).toBe("'a:b'");
    expect(quotearg('\ud800', 'escape')).toBe('\\355\\240\\200');
  });

  it('never lets a control, a C1 control or an invalid byte through the escaping styles', () => {
    const bad = (s: string): boolean => [...s].some((c) => {
      const cp = c.codePointAt(0)!;
      return (cp >= 0xd800 && cp <= 0xdfff) || !isPrintable(cp);
    });
    for (const n of hostileNames) {
      for (const style of ['shell-escape', 'shell-escape-always', 'c', 'c-maybe', 'escape', 'locale', 'clocale'] as const) {
        expect(bad(quotearg(n.name, style)), `${n.label} in ${style}`).toBe(false);
      }
      for (const style of ['literal', 'shell', 'shell-always'] as const) {
        expect(bad(qmark(quotearg(n.name, style))), `${n.label} in ${style} -q`).toBe(false);
      }
      expect(bad(escapeControls(n.name)), n.label).toBe(false);
    }
  });

  it('escapeControls keeps printable text and escapes the rest', () => {
    expect(escapeControls("(no container 'web')")).toBe("(no container 'web')");
    expect(escapeControls('a\x1b]0;x\x07 中 \u0085 \udcff\n')).toBe('a\\033]0;x\\a 中 \\302\\205 \\377\\n');
  });

  it('decodes as glibc mbrtowc does', () => {
    const d = (...bytes: number[]) => decodeChar(Uint8Array.from(bytes), 0);
    expect(d(0xe4, 0xb8)).toEqual({kind: 'incomplete'});
    expect(d(0xe4, 0xb8, 0x41)).toEqual({kind: 'invalid'});
    expect(d(0xf8, 0x88, 0x80, 0x80, 0x80)).toEqual({kind: 'char', cp: 0x200000, length: 5});
    expect(d(0xed, 0xa0, 0x80)).toEqual({kind: 'invalid'});
    expect(d(0xc0, 0x80)).toEqual({kind: 'invalid'});
  });

  it('parses ls quoting options in order, and rejects bad styles as GNU does', () => {
    expect(lsQuotingArgs(['-lN', '-b', 'x']).choice).toEqual({style: 'escape'});
    expect(lsQuotingArgs(['-q', '--show-control-chars']).choice).toEqual({hideControl: false});
    expect(lsQuotingArgs(['--quoting-style=c-m', '-l']).rest).toEqual(['-l']);
    expect(lsQuotingArgs(['--quoting-style', 'c', 'x']).choice).toEqual({style: 'c'});
    expect(lsQuotingArgs(['--', '-N']).choice).toEqual({});
    expect(lsQuotingArgs(['--quoting-style=sh']).error).toMatch(/^ambiguous argument ‘sh’ for ‘--quoting-style’\nValid arguments are:\n {2}- ‘literal’/);
    expect(lsQuotingArgs(['--quoting-style=x']).error).toMatch(/^invalid argument ‘x’/);
    expect(lsQuoting({}, false, 'nope', 'one').warning).toBe('ignoring invalid value of environment variable QUOTING_STYLE: ‘nope’');
    expect(lsQuoting({}, false, 'c', 'one').names.style).toBe('c');
  });

  it('intended difference: on a terminal, --show-control-chars does not show them raw', () => {
    const q = lsQuoting(lsQuotingArgs(['-N', '--show-control-chars']).choice, true, undefined, 'one');
    expect(quoteName('a\x1b[2Jb', q.names).text).toBe('a?[2Jb');
    const pipe = lsQuoting(lsQuotingArgs(['-N', '--show-control-chars']).choice, false, undefined, 'one');
    expect(quoteName('a\x1b[2Jb', pipe.names).text).toBe('a\x1b[2Jb');
  });
});

describe.runIf(spawnSync('python3', ['--version']).status === 0)('isPrintable against glibc iswprint (C.UTF-8)', () => {
  it('agrees on every code point but those assigned after glibc\'s Unicode version', () => {
    const dump = [
      'import ctypes, sys',
      "libc = ctypes.CDLL('libc.so.6')",
      "assert libc.setlocale(6, b'C.UTF-8')",
      'f = libc.iswprint',
      'f.argtypes = [ctypes.c_uint32]',
      'sys.stdout.buffer.write(bytes(1 if f(c) else 0 for c in range(0x110000)))',
    ].join('\n');
    const glibc = execFileSync('python3', ['-c', dump], {maxBuffer: 1 << 22});
    expect(glibc).toHaveLength(0x110000);
    const newer: number[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      const mine = isPrintable(cp);
      if (mine === (glibc[cp] === 1)) continue;
      // The only difference allowed: a character this Node's Unicode assigns and glibc's does not
      // know yet (dbox shows it, GNU escapes it). Never a control, a separator or a surrogate.
      expect({cp: cp.toString(16), mine}).toEqual({cp: cp.toString(16), mine: true});
      expect(/[\p{Cc}\p{Zl}\p{Zp}\p{Cs}]/u.test(String.fromCodePoint(cp))).toBe(false);
      newer.push(cp);
    }
    expect(newer.length).toBeLessThan(20_000);
  }, 60_000);
});
