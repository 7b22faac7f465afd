// What the engine driver takes from an archive the engine sent for one file (pure, crafted tars):
// the bytes of that file and nothing else; a lying or broken archive is an EIO naming the file.
import {Readable} from 'node:stream';
import {describe, expect, it} from 'vitest';
import {FsError} from '../../src/errors.js';
import {fileBytes, fileBytesInDir} from '../../src/vfs/engine-fs.js';
import {entry, tarball} from '../adversarial/lib/tar-craft.js';

async function read(tar: Buffer, path = '/data/f'): Promise<string | FsError> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of fileBytes(Readable.from([tar]), path)) chunks.push(chunk);
  } catch (error) {
    if (error instanceof FsError) return error;
    throw error;
  }
  return Buffer.concat(chunks).toString();
}

describe('fileBytes', () => {
  it('gives the bytes of the one regular file named as the file', async () => {
    expect(await read(tarball(entry({name: 'f', body: 'hello\n'})))).toBe('hello\n');
  });

  it('a body shorter than its header says is EIO, never an internal error', async () => {
    const r = await read(entry({name: 'f', body: 'only ten.\n', claimedSize: 1 << 20}));
    expect(r).toBeInstanceOf(FsError);
    expect((r as FsError).code).toBe('EIO');
    expect((r as FsError).hint).toMatch(/cut short or malformed/);
  });

  it('an entry of another name, a link, a directory or no entry is EIO, and no bytes of it are given', async () => {
    for (const tar of [
      tarball(entry({name: '../../../etc/shadow', type: 'link', linkname: '/etc/shadow'}), entry({name: 'f', body: 'x'})),
      tarball(entry({name: 'g', body: 'not f'})),
      tarball(entry({name: 'f', type: 'symlink', linkname: '/etc/shadow'})),
      tarball(entry({name: 'f/', type: 'dir'})),
      tarball(),
    ]) {
      const r = await read(tar);
      expect(r).toBeInstanceOf(FsError);
      expect((r as FsError).code).toBe('EIO');
    }
  });

  it('bytes that are not a tar are EIO', async () => {
    const r = await read(Buffer.from('HTTP/1.1 500 oops\r\n\r\n'.repeat(40)));
    expect((r as FsError).code).toBe('EIO');
  });
});

describe('fileBytesInDir', () => {
  const inDir = async (tar: Buffer, dir = '/data', file = '/data/f'): Promise<string | FsError> => {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of fileBytesInDir(Readable.from([tar]), dir, file, file)) chunks.push(chunk);
    } catch (error) {
      if (error instanceof FsError) return error;
      throw error;
    }
    return Buffer.concat(chunks).toString();
  };

  it('finds the file among its siblings in an archive of its directory', async () => {
    expect(await inDir(tarball(entry({name: 'data/', type: 'dir'}), entry({name: 'data/a', body: 'aaa'}), entry({name: 'data/f', body: 'mine'}),
      entry({name: 'data/z', body: 'zzz'})))).toBe('mine');
  });

  it('a missing file, one of another type, or a name elsewhere is EIO', async () => {
    for (const tar of [
      tarball(entry({name: 'data/', type: 'dir'}), entry({name: 'data/a', body: 'a'})),
      tarball(entry({name: 'data/f', type: 'symlink', linkname: '/etc/shadow'})),
      tarball(entry({name: 'other/f', body: 'not it'}), entry({name: 'f', body: 'not it'})),
    ]) expect(((await inDir(tar)) as FsError).code).toBe('EIO');
  });
});
