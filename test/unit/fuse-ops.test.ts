// The fuse-native server's errno mapping, and how it presents a container's own directory.
// (How it presents links: test/unit/link.test.ts.)
import {describe, expect, it} from 'vitest';
import type {FuseStat} from 'fuse-native';
import type {ContainerInfo} from '../../src/docker/engine.js';
import {makeOps, toErrno} from '../../src/fuse/ops.js';
import type {Namespace, Target} from '../../src/vfs/namespace.js';
import type {Capabilities, Stat} from '../../src/vfs/types.js';
import {MemoryFs} from './memory-fs.js';

describe('errno for FUSE', () => {
  it('maps codes to negative errno', () => {
    expect(toErrno(Object.assign(new Error('x'), {code: 'ENOENT'}))).toBe(-2);
    expect(toErrno(Object.assign(new Error('x'), {code: 'EXDEV'}))).toBe(-18);
    expect(toErrno(Object.assign(new Error('x'), {code: 'EOVERFLOW'}))).toBe(-75); // any errno of the system, not a table's few
    expect(toErrno(Object.assign(new Error('x'), {code: 'toString'}))).toBe(-5);
  });
});

/** A memory fs with the given capabilities that counts its lstat calls. */
class Counting extends MemoryFs {
  lstats = 0;
  constructor(override readonly capabilities: Capabilities) {
    super(false);
  }
  override lstat(path: string): Promise<Stat> {
    this.lstats++;
    return super.lstat(path);
  }
}

const container: ContainerInfo = {id: 'a'.repeat(64), name: 'web', image: 'i', state: 'exited', status: '', created: 1_700_000_000};

/** getattr of the container's own directory through ops over a namespace that serves `fs` for it. */
async function rootAttr(fs: Counting): Promise<FuseStat> {
  const ns = {resolve: async (): Promise<Target> => ({kind: 'fs', fs, path: '/', container})} as unknown as Namespace;
  const ops = makeOps(ns);
  return new Promise((resolve, reject) => ops.getattr!('/web', (err, st) => (err ? reject(new Error(`errno ${err}`)) : resolve(st!))));
}

describe('a container root in the mount', () => {
  it('a remote driver (capabilities.remote) is not asked: its root is presented from the container list', async () => {
    const fs = new Counting({metadata: 'carried', remote: true});
    const st = await rootAttr(fs);
    expect(fs.lstats).toBe(0);
    expect(st.mtime).toBe(container.created * 1000);
    expect(st.mode).toBe(0o040755);
  });

  it('any other driver is asked, whatever its name', async () => {
    const fs = new Counting({metadata: 'carried'});
    const st = await rootAttr(fs);
    expect(fs.lstats).toBe(1);
    expect(st.mtime).toBe(Date.UTC(2024, 0, 15, 12));
  });
});
