import {describe, expect, it} from 'vitest';
import type {ContainerInfo, Engine} from '../../src/docker/engine.js';
import {changes, encode, rootsOf, withHosts, type Roots, type Tree} from '../../src/fuse/front.js';
import type {Namespace} from '../../src/vfs/namespace.js';
import {ContainerServing} from '../../src/vfs/serving.js';

describe("the mount's front server control records", () => {
  const roots = (entries: [string, Tree][]): Roots => new Map(entries);
  const local = (fd: number): Tree => ({path: `/proc/1/fd/${fd}`, flags: 'w'});
  const engine = (name: string): Tree => ({path: `/e/${name}`, flags: ''});

  it('adds new names, replaces changed trees, removes names that went, and says nothing of the rest', () => {
    const before = roots([['web', local(10)], ['db', local(11)], ['old', engine('old')]]);
    const after = roots([['web', local(10)], ['db', local(12)], ['new', engine('new')]]);
    expect(changes(before, after)).toEqual([{op: '-', name: 'old'}, {op: '+', name: 'db', tree: local(12)}, {op: '+', name: 'new', tree: engine('new')}]);
  });

  it('a container that stops moves from its own root to the engine mount', () => {
    expect(changes(roots([['web', local(10)]]), roots([['web', engine('web')]]))).toEqual([{op: '+', name: 'web', tree: engine('web')}]);
  });

  it('no change, no records', () => {
    const same = roots([['web', local(10)], ['.hosts', {path: '/e/.hosts', flags: 'h'}]]);
    expect(changes(same, new Map(same))).toEqual([]);
  });

  it('.hosts, .images and .volumes are added to what is known when the engine does not answer, and nothing else changes', () => {
    const before = roots([['web', local(10)]]);
    expect(changes(before, withHosts(before, '/e'))).toEqual(['.hosts', '.images', '.volumes'].map((name) => ({op: '+', name, tree: {path: `/e/${name}`, flags: 'h'}})));
    expect([...before.keys()]).toEqual(['web']);
    expect(changes(withHosts(before, '/e'), withHosts(withHosts(before, '/e'), '/e'))).toEqual([]);
  });

  it('encodes NUL-terminated fields', () => {
    expect(encode({op: '+', name: 'web', tree: local(7)}).toString()).toBe('+\0web\0/proc/1/fd/7\0w\0');
    expect(encode({op: '-', name: 'web'}).toString()).toBe('-\0web\0');
    expect(encode({op: '+', name: '.hosts', tree: {path: '/e/.hosts', flags: 'h'}}).toString()).toBe('+\0.hosts\0/e/.hosts\0h\0');
  });

  it.each(['a\nb', 'web\t/\tw', 'a\0b', '../x', '.', '..', 'x', '', 'a/b', '-web', '.hidden', 'a'.repeat(256), '\u001b[2J'])(
    'refuses the name %j', (name) => {
      expect(() => encode({op: '+', name, tree: local(1)})).toThrow();
      expect(() => encode({op: '-', name})).toThrow();
    });

  it('refuses a NUL in a path', () => {
    expect(() => encode({op: '+', name: 'web', tree: {path: '/a\0/', flags: ''}})).toThrow();
  });
});

describe("the mount's trees from the one serving policy", () => {
  it('a proven root is named by its descriptor and its lease is handed back; any other container goes to the engine mount', async () => {
    const info = (name: string, state: string, n: number): ContainerInfo => ({id: String(n).repeat(64), name, image: 'i', state, status: '', created: 0});
    const list = [info('web', 'running', 1), info('old', 'exited', 2)];
    const engine = {endpoint: {name: 'default'}, processOf: async () => ({running: true, pid: 42}), sharesPids: () => true} as unknown as Engine;
    const closed: number[] = [];
    const serving = new ContainerServing({prove: () => 77, close: (fd) => closed.push(fd)});
    const ns = {containers: async () => list} as unknown as Namespace;
    const first = await rootsOf(ns, '/e', (c) => serving.serving(c, engine));
    expect([...first.roots]).toEqual([['web', {path: `/proc/${process.pid}/fd/77`, flags: 'w'}], ['old', {path: '/e/old', flags: ''}],
      ['.hosts', {path: '/e/.hosts', flags: 'h'}], ['.images', {path: '/e/.images', flags: 'h'}], ['.volumes', {path: '/e/.volumes', flags: 'h'}]]);
    expect(first.leases.map((l) => l.fd)).toEqual([77]);
    // The next sync names the same descriptor (no record); the container's process changes, and
    // the old root stays open until the lease of the sync that named it is released.
    const second = await rootsOf(ns, '/e', (c) => serving.serving(c, engine));
    expect(changes(first.roots, second.roots)).toEqual([]);
    first.leases.forEach((l) => l.release());
    serving.drop(ContainerServing.key(list[0]!, engine));
    await Promise.resolve();
    expect(closed).toEqual([]);
    second.leases.forEach((l) => l.release());
    expect(closed).toEqual([77]);
  });
});
