// The local driver writes a small new file whose size is known (a copy's) in one step off the
// main thread (src/vfs/local-fs.ts, native writeNew), not through a stream. What it must keep of
// the stream path: a source that gives more than it said is written whole, a source that fails
// fails the write with its own error, an exclusive create never touches a file that is there, and
// the mode is the one asked for (less the umask, as open(2)). On this host's kernel, in a
// temporary directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Readable} from 'node:stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {FsError} from '../../src/errors.js';
import {LocalFs} from '../../src/vfs/local-fs.js';

describe('local driver: small new files written whole', () => {
  let dir: string;
  const host = LocalFs.host();
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-small-write-'));
  });
  afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

  it('writes the bytes with the mode asked for; in pieces as they come', async () => {
    const file = path.join(dir, 'a');
    await host.writeFile(file, Readable.from([Buffer.from('hel'), Buffer.from('lo\n')]), {mode: 0o640, exclusive: true, size: 6});
    expect(fs.readFileSync(file, 'utf8')).toBe('hello\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o640 & ~process.umask());
  });

  it('a source that gives more than it said (past the small limit) is written whole', async () => {
    const file = path.join(dir, 'more');
    const big = Buffer.alloc(3 << 20, 0x61);
    big.write('end', big.length - 3);
    const pieces = Array.from({length: 48}, (_, i) => big.subarray(i << 16, (i + 1) << 16));
    await host.writeFile(file, Readable.from(pieces), {mode: 0o644, exclusive: true, size: 3});
    expect(fs.readFileSync(file).equals(big)).toBe(true);
  });

  it('a source that fails fails the write with its own error', async () => {
    const file = path.join(dir, 'failing');
    const source = new Readable({
      read() {
        this.push(Buffer.from('part'));
        this.destroy(new FsError('EIO', '/the/source'));
      },
    });
    await expect(host.writeFile(file, source, {mode: 0o644, exclusive: true, size: 10})).rejects.toMatchObject({code: 'EIO', path: '/the/source'});
  });

  it('an exclusive create of a name that is there fails with EEXIST and leaves that file alone', async () => {
    const file = path.join(dir, 'there');
    fs.writeFileSync(file, 'old\n');
    await expect(host.writeFile(file, Readable.from([Buffer.from('new\n')]), {mode: 0o644, exclusive: true, size: 4}))
      .rejects.toMatchObject({code: 'EEXIST'});
    expect(fs.readFileSync(file, 'utf8')).toBe('old\n');
  });

  it('a write that fails (a full device) fails with its own error, small or streamed; the fd is closed once', async () => {
    // /dev/full answers every write with ENOSPC. Streamed, a WriteStream given the fd closed it
    // on the error, and the close after it failed with EBADF (an internal error, status 70).
    for (const size of [10, 3 << 20]) {
      const source = Readable.from([Buffer.alloc(size, 0x61)]);
      await expect(host.writeFile('/dev/full', source, {mode: 0o644, size})).rejects.toMatchObject({code: 'ENOSPC'});
    }
  });

  it('an empty file', async () => {
    const file = path.join(dir, 'empty');
    await host.writeFile(file, Readable.from([]), {mode: 0o600, exclusive: true, size: 0});
    expect(fs.statSync(file).size).toBe(0);
  });
});
