// The copy engine asks a filesystem's capabilities, never its class or driver name: a filesystem
// that declares no host root is never handed to the native part (even with a raw fd to write to),
// and where metadata is `carried` nothing is set after a write, where it is `after` it is.
import fs from 'node:fs';
import {Writable} from 'node:stream';
import {describe, expect, it} from 'vitest';
import {copyEntry, Progress, sendFile} from '../../src/vfs/transfer.js';
import type {Capabilities, Timespec} from '../../src/vfs/types.js';
import {MemoryFs} from './memory-fs.js';

/** A memory fs that records its chmod, utimes and mkdir calls, with the given capabilities. */
class Recording extends MemoryFs {
  readonly calls: string[] = [];
  constructor(override readonly capabilities: Capabilities) {
    super(false);
  }
  override chmod(path: string, mode: number): Promise<void> {
    this.calls.push(`chmod ${path} ${mode.toString(8)}`);
    return super.chmod(path, mode);
  }
  override utimes(path: string, atime: Timespec, mtime: Timespec, follow: boolean): Promise<void> {
    this.calls.push(`utimes ${path}`);
    return super.utimes(path, atime, mtime, follow);
  }
  override mkdir(path: string, mode?: number): Promise<void> {
    this.calls.push(`mkdir ${path} ${(mode ?? 0o777).toString(8)}`);
    return super.mkdir(path, mode);
  }
}

describe('capabilities', () => {
  it('a file without a host root is streamed to the writer, even when a raw fd is at hand', async () => {
    const src = MemoryFs.of({'f': 'bytes\n'});
    const chunks: Buffer[] = [];
    const stream = new Writable({write(c: Buffer, _e, done) { chunks.push(c); done(); }});
    const fd = fs.openSync('/dev/null', 'w');
    try {
      await sendFile({fs: src, path: '/f'}, {fd, stream}, new Progress());
    } finally {
      fs.closeSync(fd);
    }
    expect(Buffer.concat(chunks).toString()).toBe('bytes\n');
  });

  it('metadata carried: a tree copy makes each directory with its mode and sets nothing afterwards', async () => {
    const src = MemoryFs.of({'d/f': 'x', 'd/e/g': 'y'});
    await src.chmod('/d', 0o750);
    const dst = new Recording({metadata: 'carried'});
    await dst.mkdir('/out');
    dst.calls.length = 0;
    await copyEntry({fs: src, path: '/d'}, {fs: dst, path: '/out/d'}, {preserve: true, progress: new Progress()});
    expect(dst.calls.filter((c) => !c.startsWith('mkdir'))).toEqual([]);
    expect(dst.calls.filter((c) => c.startsWith('mkdir /out/.')).map((c) => c.split(' ')[2])).toEqual(['750', '755']);
  });

  it('metadata after: a directory is made 0700, then given its mode and times once full', async () => {
    const src = MemoryFs.of({'d/f': 'x'});
    await src.chmod('/d', 0o750);
    const dst = new Recording({metadata: 'after'});
    await dst.mkdir('/out');
    dst.calls.length = 0;
    await copyEntry({fs: src, path: '/d'}, {fs: dst, path: '/out/d'}, {preserve: true, progress: new Progress()});
    const shape = dst.calls.map((c) => c.replace(/\/out\/\.[^/ ]+/, '/out/TMP'));
    expect(shape).toEqual(['mkdir /out/TMP 700', 'chmod /out/TMP/f 644', 'utimes /out/TMP/f', 'chmod /out/TMP 750', 'utimes /out/TMP']);
    expect((await dst.stat('/out/d')).mode & 0o7777).toBe(0o750);
  });
});
