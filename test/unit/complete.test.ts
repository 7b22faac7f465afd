import {describe, expect, it} from 'vitest';
import {spawnSync} from 'node:child_process';
import {bytesName, nameBytes} from '../../src/format/utf8.js';
import {complete, quoteAs, typeable, wordAt, type Candidate, type CompletionSource} from '../../src/shell/complete.js';
import {hostileNames} from './hostile-names.js';

const tree: Record<string, Candidate[]> = {
  '/': [{name: 'containers', dir: true}, {name: 'container_info.json', dir: false}, {name: 'etc', dir: true}, {name: 'tmp', dir: true}],
  '/containers': [{name: 'db', dir: true, state: 'exited', id: 'd'.repeat(64)}, {name: 'web', dir: true, state: 'running', id: '7cc1'.padEnd(64, '0')},
    {name: 'webapp', dir: true, state: 'exited', id: '7cd2'.padEnd(64, '0')}],
  '/containers/web': [{name: 'etc', dir: true}, {name: '.hidden', dir: false}],
  '/containers/web/etc': [{name: 'hostname', dir: false}, {name: 'hosts', dir: false}, {name: 'my file.txt', dir: false}],
  '/root': [{name: 'notes', dir: false}],
};
const source: CompletionSource = {
  commands: async () => ['cat', 'cd', 'cp', 'ls', 'grep'],
  list: async (dir) => tree[dir] ?? Promise.reject(new Error('ENOENT')),
  variables: async () => [{name: 'HOME', dir: true}, {name: 'HOSTNAME', dir: false}, {name: 'PATH', dir: false}, {name: 'PAGER', dir: false}],
  users: async () => ['root', 'rob', 'daemon'],
};
const env = {cwd: '/containers/web', home: '/root'};
const apply = async (line: string) => {
  const c = await complete(line, line.length, env, source);
  return c ? line.slice(0, c.start) + c.insert + line.slice(c.end) : line;
};

describe('completion', () => {
  it.each([
    ['cd /cont', 'cd /containers/'], // cd completes directories only
    ['cat /cont', 'cat /container'],
    ['cd /containers/we', 'cd /containers/web'], // web and webapp: the common prefix
    ['ls et', 'ls etc/'], // relative to a container cwd
    ['cat etc/hostn', 'cat etc/hostname '],
    ['cat etc/my', 'cat etc/my\\ file.txt '],
    ["cat 'etc/my", "cat 'etc/my file.txt' "],
    ['cat ~/no', 'cat ~/notes '],
    ['gr', 'grep '],
    ['ls | gr', 'ls | grep '],
    ['ls .h', 'ls .hidden '],
    ['ls zz', 'ls zz'],
    // command words: after | ; && || ( $( ` keywords and assignments; a path after a redirection
    ['ls; gr', 'ls; grep '],
    ['ls && gr', 'ls && grep '],
    ['false || gr', 'false || grep '],
    ['echo $(gr', 'echo $(grep '],
    ['echo `gr', 'echo `grep '],
    ['if gr', 'if grep '],
    ['for f in x; do gr', 'for f in x; do grep '],
    ['X=1 Y=2 gr', 'X=1 Y=2 grep '],
    ['ls > et', 'ls > etc/'],
    ['> et', '> etc/'],
    ['cat < et', 'cat < etc/'],
    ['ls 2>et', 'ls 2>etc/'],
    // variables, users, container ids
    ['echo $PA', 'echo $PA'],
    ['echo $PAT', 'echo $PATH '],
    ['echo $HOM', 'echo $HOME/'],
    ['echo ${HOM', 'echo ${HOME}/'],
    ['echo "$HOM', 'echo "$HOME"/'],
    ["echo '$HOM", "echo '$HOM"], // single quotes: no variable there
    ['echo \\$HOM', 'echo \\$HOM'], // an escaped $ is no variable
    ['echo $HO', 'echo $HO'], // HOME and HOSTNAME
    ['ls ~ro', 'ls ~ro'], // root and rob
    ['ls ~roo', 'ls ~root/'],
    ['ls /containers/7cc', 'ls /containers/web/'],
    ['ls /containers/7c', 'ls /containers/7c'], // two ids: listed, not guessed
    ['ls /containers/ddd', 'ls /containers/db/'],
  ])('%s -> %s', async (line, out) => expect(await apply(line)).toBe(out));

  it('lists the containers an id prefix matches, and variables', async () => {
    expect((await complete('ls /containers/7c', 17, env, source))?.candidates.map((c) => c.name)).toEqual(['web', 'webapp']);
    expect((await complete('echo $HO', 8, env, source))?.candidates.map((c) => c.name)).toEqual(['HOME', 'HOSTNAME']);
  });

  it('lists running containers first', async () => {
    const c = await complete('cd /containers/', 15, env, source);
    expect(c?.candidates.map((x) => x.name)).toEqual(['web', 'db', 'webapp']);
  });
  it('hides dotfiles unless asked', async () => {
    expect((await complete('ls ', 3, env, source))?.candidates.map((x) => x.name)).toEqual(['etc']);
  });
  it('finds the word under the cursor', () => {
    expect(wordAt('cat a && ls /x', 14)).toMatchObject({start: 12, value: '/x', commandPosition: false});
    expect(wordAt('cat a && l', 10)).toMatchObject({start: 9, commandPosition: true});
    expect(wordAt('ls; cd /x', 9)).toMatchObject({command: 'cd'});
    expect(wordAt('cat "a b', 8)).toMatchObject({start: 4, value: 'a b', quote: '"'});
    expect(wordAt('cat a\\ b', 8)).toMatchObject({start: 4, value: 'a b'});
  });
  it('quotes as the word began', () => {
    expect(quoteAs("it's here", '')).toBe("it\\'s\\ here");
    expect(quoteAs("it's", "'")).toBe("'it'\\''s");
    expect(quoteAs('a"b', '"')).toBe('"a\\"b');
  });
});

/** The words bash reads from `line` (no globbing), as names (invalid bytes as lone surrogates). */
function bashWords(line: string): string[] {
  const script = Buffer.concat([Buffer.from("set -f; printf '%s\\0' "), Buffer.from(nameBytes(line))]);
  const r = spawnSync('bash', ['--norc', '-s'], {input: script, env: {PATH: process.env['PATH'], HOME: '/nonexistent-home', LC_ALL: 'C.UTF-8'}});
  return r.stdout.toString('latin1').split('\0').slice(0, -1).map((w) => bytesName(Buffer.from(w, 'latin1')));
}

describe('completion of hostile names', () => {
  /** No raw C0/C1 control, DEL, line separator or lone surrogate in what goes into the line. */
  const raw = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]/u;
  const one = (name: string): CompletionSource => ({commands: async () => [], list: async () => [{name, dir: false}]});

  it.each(hostileNames)('inserts $label without raw controls, and the line reads back as the name', async ({name}) => {
    for (const opening of ['cat ', "cat '", 'cat "']) {
      const typed = opening + (name.startsWith('.') ? '.' : ''); // dotfiles are offered when asked for
      const c = await complete(typed, typed.length, env, one(name));
      const line = typed.slice(0, c!.start) + c!.insert;
      expect(raw.test(line), JSON.stringify(line)).toBe(false);
      const usable = typeable(name);
      // bash, which runs every line, reads back the name, or its start before an invalid byte
      const closed = usable === name ? line : line + (opening.endsWith("'") ? "'" : opening.endsWith('"') ? '"' : '');
      expect(bashWords(closed)[1] ?? '').toBe(usable);
      // and completing again from there finds the same word
      const body = usable === name ? line.slice(0, -1) : line; // without the space after a whole name
      expect(wordAt(body, body.length).value).toBe(usable);
    }
  });

  it('writes bash ANSI-C quoting for characters that are not printable', () => {
    expect(quoteAs('a\x1b[8mb', '')).toBe("a$'\\033'\\[8mb");
    expect(quoteAs('a\x1bb', "'")).toBe("'a'$'\\033''b");
    expect(quoteAs('a\x1bb', '"')).toBe('"a"$\'\\033\'"b');
    expect(quoteAs('x\u0085\u2028', '')).toBe("x$'\\u0085\\u2028'");
    expect(wordAt("cat a$'\\033'\\[8mb", 17).value).toBe('a\x1b[8mb');
    expect(typeable('ab\udcffcd')).toBe('ab');
  });
});
