// /containers as a directory of the namespace whose entries carry their container (state, image,
// id), and its readers (completion, ls -l) taking the containers from the namespace, never from
// an engine of their own: over a fake engine that counts how often it is asked.
import {Readable, Writable} from 'node:stream';
import {describe, expect, it} from 'vitest';
import {builtins} from '../../builtins/index.js';
import type {ContainerInfo, Engine} from '../../src/docker/engine.js';
import type {Output, ShellContext} from '../../src/shell/context.js';
import {namespaceSource} from '../../src/shell/completion-source.js';
import {runBuiltin} from '../../src/shell/run-builtin.js';
import {Namespace} from '../../src/vfs/namespace.js';
import {MemoryFs} from './memory-fs.js';

const info = (name: string, state: string, n: number): ContainerInfo =>
  ({id: String(n).repeat(64), name, image: 'dbox-test/busybox', state, status: '', created: Date.UTC(2026, 10, 23) / 1000});

/** An engine that lists `list` and counts the listings; asked for anything else, it fails the test. */
function fakeEngine(list: ContainerInfo[]): {engine: Engine; listings: () => number} {
  let listings = 0;
  const engine = {
    endpoint: {name: 'default', address: 'unix:///nowhere'},
    listContainers: async () => {
      listings++;
      return list;
    },
  } as unknown as Engine;
  return {engine, listings: () => listings};
}

const containers = [info('web', 'running', 1), info('old', 'exited', 2)];

describe('/containers in the namespace', () => {
  it('lists each container as a directory entry that carries the container, from one listing a line', async () => {
    const {engine, listings} = fakeEngine(containers);
    const ns = new Namespace(engine, {host: new MemoryFs(true)});
    const entries = await ns.readdir('/containers');
    expect(entries.map((e) => [e.name, e.type, e.container?.state, e.container?.id.slice(0, 2)])).toEqual([
      ['web', 'dir', 'running', '11'], ['old', 'dir', 'exited', '22']]);
    expect(await ns.containers()).toEqual(containers);
    expect(listings()).toBe(1);
    ns.refresh();
    await ns.containers();
    expect(listings()).toBe(2);
  });

  it('completion takes the state and id from the entries', async () => {
    const {engine, listings} = fakeEngine(containers);
    const ns = new Namespace(engine, {host: new MemoryFs(true)});
    const list = await namespaceSource(ns, {}, []).list('/containers');
    expect(list).toEqual([{name: 'web', dir: true, state: 'running', id: '1'.repeat(64)}, {name: 'old', dir: true, state: 'exited', id: '2'.repeat(64)}]);
    expect(listings()).toBe(1);
  });

  it('ls -l /containers prints them from the same listing', async () => {
    const {engine, listings} = fakeEngine(containers);
    const ns = new Namespace(engine, {host: new MemoryFs(true)});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const collect = (chunks: Buffer[]): Output => ({stream: new Writable({write(c: Buffer, _e, done) { chunks.push(c); done(); }}), isTTY: false, columns: 80});
    const ctx: ShellContext = {cwd: '/', home: '/root', env: {TZ: 'UTC'}, ns, stdin: Readable.from([]), stdinIsTTY: false, stdout: collect(out),
      stderr: collect(err), color: false, signal: new AbortController().signal, run: async () => 127, capture: async () => ({status: 127, stdout: '', stderr: '', error: 'no programs here'}), now: Date.now};
    expect(await runBuiltin(builtins, ['ls', '-l', '/containers'], ctx)).toBe(0);
    expect(Buffer.concat(err).toString()).toBe('');
    const lines = Buffer.concat(out).toString().trim().split('\n');
    expect(lines.map((l) => [l.split(/ +/)[0], l.split(/ +/).pop()])).toEqual([['exited', 'old'], ['running', 'web']]);
    expect(listings()).toBe(1);
  });
});
