// HeldRoot (src/agent/roots.ts): one hold of a stopped container's filesystem at a time. Requests
// that come while the engine is still mounting it wait for that hold rather than asking for
// another (a second hold replaced the first, which was then never let go: the engine kept the
// container locked, and a `docker start` waited for ever); and while it is being taken the root
// counts as held, so a read in that moment is not served from a view assembled beside it.
// A stopped container's reads after a hold wait until it has been let go, then go to its layers
// (a read in that moment took a second hold, so the layers were not lent to the copy that followed).
// The engine and the agent are fakes here: what is tested is the bookkeeping, in order.
import {describe, expect, it} from 'vitest';
import {AgentErrno, type AgentClient} from '../../src/agent/client.js';
import {HeldRoot} from '../../src/agent/roots.js';
import {LayersRoot, StoppedRoot} from '../../src/agent/layer-roots.js';
import type {Engine} from '../../src/docker/engine.js';
import {until} from '../integration/wait.js';

const ID = 'a'.repeat(64);

/** An engine whose holds are recorded, and an agent that answers EAGAIN until `mount()`. */
function fakes(): {engine: Engine; client: AgentClient; holds: {released: boolean}[]; mount(): void; closed: number[];
  layers: number[]; slowRelease(): () => void} {
  const holds: {released: boolean}[] = [];
  const closed: number[] = [];
  const layers: number[] = [];
  let gate: Promise<void> | undefined;
  let mounted = false;
  let next = 1;
  const engine = {
    holdRootfs: () => {
      const h = {released: false};
      holds.push(h);
      let end!: () => void;
      const ended = new Promise<void>((r) => (end = r));
      return {ended, release: async () => {
        await gate;
        h.released = true;
        end();
      }};
    },
  } as unknown as Engine;
  const client = {
    alive: true,
    openMergedRoot: () => ({handle: next++, opened: mounted ? Promise.resolve() : Promise.reject(new AgentErrno('EAGAIN'))}),
    openLayers: () => {
      layers.push(next);
      return {handle: next++, opened: Promise.resolve()};
    },
    closeRoot: async (handle: number) => {
      closed.push(handle);
    },
  } as unknown as AgentClient;
  const slowRelease = (): (() => void) => {
    let open!: () => void;
    gate = new Promise<void>((r) => (open = r));
    return open;
  };
  return {engine, client, holds, mount: () => (mounted = true), closed, layers, slowRelease};
}

describe('HeldRoot', () => {
  it('requests made while the hold is being taken share it: one hold, counted as held meanwhile, let go once', async () => {
    const {engine, client, holds, mount, closed} = fakes();
    const root = new HeldRoot(engine, ID, '/var/lib/docker/overlay2/x/merged');
    const first = root.root(client);
    const second = root.root(client);
    expect(root.holding).toBe(true); // being taken: a read now waits for it
    mount();
    const [a, b] = await Promise.all([first, second]);
    expect(a.handle).toBe(b.handle);
    expect(holds.length).toBe(1);
    root.retire();
    await until('the hold to be let go', () => holds[0]!.released, 10_000, 5);
    expect(closed).toEqual([a.handle]);
    expect(root.holding).toBe(false);
  });

  it('a read while a stopped container\'s hold is being let go waits for it, then reads the layers: no second hold', async () => {
    const {engine, client, holds, mount, layers, slowRelease} = fakes();
    const held = new HeldRoot(engine, ID, '/var/lib/docker/overlay2/x/merged');
    const stopped = new StoppedRoot(new LayersRoot(async () => ({kind: 'read-only', dataRoot: '/var/lib/docker', layers: ['l1']}), 'x'), held);
    mount();
    const w = await stopped.root(client, true);
    expect(holds.length).toBe(1);
    const open = slowRelease();
    held.retire(); // the engine has not gone on yet
    let read: number | undefined;
    const reading = stopped.root(client).then((r) => (read = r.handle));
    await new Promise((r) => setImmediate(r)); // a new hold (the old code) is taken within this turn
    expect(read).toBeUndefined(); // waits
    expect(held.holding).toBe(false);
    open();
    await reading;
    expect(holds.length).toBe(1);
    expect(holds[0]!.released).toBe(true);
    expect(layers).toEqual([read]);
    expect(read).not.toBe(w.handle);
  });
});
