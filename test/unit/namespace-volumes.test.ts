// /volumes/<name>: a volume named in a path is found by asking the engine for that one volume, not
// only in the engine's list, which Docker 20.10 now and then answers with no volumes at all
// ("Volumes": null; seen as `ls /volumes/v` saying No such file while a container used v). The
// engine here is a real Engine whose two answers are given (nothing is asked of a socket).
import {describe, expect, it} from 'vitest';
import {Engine} from '../../src/docker/engine.js';
import {Namespace} from '../../src/vfs/namespace.js';
import type {ContainerFs} from '../../src/vfs/types.js';

class ListsNone extends Engine {
  asked: string[] = [];
  override async listVolumes(): Promise<string[]> {
    return [];
  }
  override async hasVolume(name: string): Promise<boolean> {
    this.asked.push(name);
    return name === 'v';
  }
}

describe('/volumes', () => {
  it('a volume the list left out is found by name; a name the engine does not have is not', async () => {
    const engine = new ListsNone({name: 'dbox-test-volumes', address: 'tcp://127.0.0.1:9'});
    const ns = new Namespace(engine, {host: {} as ContainerFs});
    const found = await ns.resolve('/volumes/v/some/file');
    expect(found.kind === 'fs' && found.fs.driver).toBe('agent');
    expect(found.kind === 'fs' && found.path).toBe('/some/file');
    const none = await ns.resolve('/volumes/w/some');
    expect(none.kind === 'fs' && none.fs.driver).not.toBe('agent');
    await expect(ns.stat('/volumes/w/some')).rejects.toMatchObject({code: 'ENOENT'});
    expect(engine.asked).toEqual(['v', 'w', 'w']);
  });
});
