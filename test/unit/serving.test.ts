// The one policy of which tree serves a container (src/vfs/serving.ts), over a fake engine and a
// fake proof: one proof per container until its process changes, a root shared by leases and
// closed only when the last one goes (so its number cannot be reused under a user), and an engine
// pid that fails its proof, or an engine in another PID namespace, never gives a root.
import {describe, expect, it} from 'vitest';
import type {ContainerInfo, Engine} from '../../src/docker/engine.js';
import {ContainerServing} from '../../src/vfs/serving.js';

const container = (state = 'running'): ContainerInfo => ({id: 'c'.repeat(64), name: 'web', image: 'i', state, status: '', created: 0});

function setup(o: {shares?: boolean; proves?: boolean; pid?: number; running?: boolean[]} = {}) {
  const calls = {processOf: 0, prove: 0};
  const closed: number[] = [];
  let nextFd = 100;
  const engine = {
    endpoint: {name: 'default'},
    // o.running: what the engine says on each question in turn (the last one from then on)
    processOf: async () => { calls.processOf++; return o.running?.[Math.min(calls.processOf, o.running.length) - 1] === false ? {running: false} : {running: true, pid: o.pid ?? 42}; },
    sharesPids: () => o.shares ?? true,
  } as unknown as Engine;
  const serving = new ContainerServing({
    prove: () => { calls.prove++; return o.proves === false ? undefined : nextFd++; },
    close: (fd) => closed.push(fd),
  });
  return {calls, closed, engine, serving};
}

describe('which tree serves a container', () => {
  it('proves a running container once; every lease shares that root, closed after the drop and the last release', async () => {
    const {calls, closed, engine, serving} = setup();
    const a = await serving.serving(container(), engine);
    const b = await serving.serving(container(), engine);
    expect(a).toMatchObject({pid: 42, root: {fd: 100}});
    expect(b.root!.fd).toBe(100);
    expect(calls).toEqual({processOf: 1, prove: 1});
    a.root!.release();
    a.root!.release(); // twice: still one share
    serving.drop(ContainerServing.key(container(), engine));
    await Promise.resolve();
    expect(closed).toEqual([]); // b still holds it
    b.root!.release();
    expect(closed).toEqual([100]);
  });

  it('after a drop (the process changed) the next question proves again, with a new descriptor', async () => {
    const {calls, engine, serving} = setup();
    const a = await serving.serving(container(), engine);
    serving.drop(ContainerServing.key(container(), engine));
    const b = await serving.serving(container(), engine);
    expect(b.root!.fd).not.toBe(a.root!.fd);
    expect(calls.prove).toBe(2);
  });

  it('a drop while the decision is made is not lost: the answer is decided again', async () => {
    const {calls, closed, engine, serving} = setup();
    const pending = serving.serving(container(), engine);
    serving.drop(ContainerServing.key(container(), engine));
    const s = await pending;
    expect(calls.prove).toBe(2);
    expect(s.root!.fd).toBe(101);
    await Promise.resolve();
    expect(closed).toEqual([100]);
  });

  it('a pid that fails its proof gives no root, only the pid (for the agent, which proves it on its side)', async () => {
    const {engine, serving} = setup({proves: false});
    expect(await serving.serving(container(), engine)).toEqual({pid: 42, root: undefined});
  });

  it('an engine in another PID namespace: its pid is never checked here', async () => {
    const {calls, engine, serving} = setup({shares: false});
    expect(await serving.serving(container(), engine)).toEqual({pid: 42, root: undefined});
    expect(calls.prove).toBe(0);
  });

  it('a stopped container: the engine is not asked for a pid', async () => {
    const {calls, engine, serving} = setup();
    expect(await serving.serving(container('exited'), engine)).toEqual({pid: undefined, root: undefined});
    expect(calls).toEqual({processOf: 0, prove: 0});
  });

  it('listed as running, stopped since (the engine now says so): no pid, no proof, and the answer says it stopped', async () => {
    const {calls, engine, serving} = setup({running: [false]});
    expect(await serving.serving(container(), engine)).toEqual({pid: undefined, root: undefined, stopped: true});
    expect(calls).toEqual({processOf: 1, prove: 0});
  });

  it('a pid that fails its proof because its process ended since: asked again, the answer says it stopped', async () => {
    const {calls, engine, serving} = setup({proves: false, running: [true, false]});
    expect(await serving.serving(container(), engine)).toEqual({pid: undefined, root: undefined, stopped: true});
    expect(calls).toEqual({processOf: 2, prove: 1});
  });

  it('clear() closes every root no lease holds', async () => {
    const {closed, engine, serving} = setup();
    (await serving.serving(container(), engine)).root!.release();
    serving.clear();
    await Promise.resolve();
    expect(closed).toEqual([100]);
  });
});
