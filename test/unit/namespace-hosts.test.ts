// /hosts is a directory of the namespace whose entries carry their endpoint (as those of
// /containers carry their container): ls, completion and the mount read it from there.
import {describe, expect, it} from 'vitest';
import {Engine} from '../../src/docker/engine.js';
import {Namespace} from '../../src/vfs/namespace.js';
import type {ContainerFs} from '../../src/vfs/types.js';

describe('/hosts', () => {
  it('lists every endpoint, the current one included, each entry with its endpoint', async () => {
    const current = {name: 'dbox-test-elsewhere', address: 'tcp://127.0.0.1:9'};
    const ns = new Namespace(new Engine(current), {host: {} as ContainerFs});
    const entries = await ns.readdir('/hosts');
    expect(entries.find((e) => e.name === current.name)).toEqual({name: current.name, type: 'dir', endpoint: current});
    expect(entries.find((e) => e.name === 'default')).toMatchObject({type: 'dir', endpoint: {name: 'default', address: expect.any(String)}});
    for (const e of entries) expect(e.endpoint?.name).toBe(e.name);
  });
});
