import {describe, expect, it} from 'vitest';
import {complete, quoteAs, wordAt, type Candidate, type CompletionSource} from '../../src/shell/complete.js';

const tree: Record<string, Candidate[]> = {
  '/': [{name: 'containers', dir: true}, {name: 'container_info.json', dir: false}, {name: 'etc', dir: true}, {name: 'tmp', dir: true}],
  '/containers': [{name: 'db', dir: true, state: 'exited'}, {name: 'web', dir: true, state: 'running'}, {name: 'webapp', dir: true, state: 'exited'}],
  '/containers/web': [{name: 'etc', dir: true}, {name: '.hidden', dir: false}],
  '/containers/web/etc': [{name: 'hostname', dir: false}, {name: 'hosts', dir: false}, {name: 'my file.txt', dir: false}],
  '/root': [{name: 'notes', dir: false}],
};
const source: CompletionSource = {
  commands: async () => ['cat', 'cd', 'cp', 'ls', 'grep'],
  list: async (dir) => tree[dir] ?? Promise.reject(new Error('ENOENT')),
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
  ])('%s -> %s', async (line, out) => expect(await apply(line)).toBe(out));

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
