// Listings made from an engine's tar (pure): only names below the archived directory, made of
// entry names, below something the archive showed as a directory.
import {describe, expect, it} from 'vitest';
import type tar from 'tar-stream';
import {listingsOfArchive} from '../../src/vfs/engine-fs.js';

type Entry = Partial<tar.Header> & {name: string};

async function listings(dir: string, entries: Entry[]): Promise<Record<string, string[]>> {
  async function* stream(): AsyncGenerator<{header: tar.Header; resume(): void}> {
    for (const e of entries) yield {header: {size: 0, mode: 0o644, type: 'file', ...e} as tar.Header, resume: () => undefined};
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of await listingsOfArchive(dir, stream())) out[k] = v.map((e) => `${e.name}:${e.type}`).sort();
  return out;
}

describe('listingsOfArchive', () => {
  it('lists a directory and everything below it', async () => {
    expect(await listings('/data', [{name: 'data/', type: 'directory'}, {name: 'data/a'}, {name: 'data/sub/', type: 'directory'},
      {name: 'data/sub/b'}])).toEqual({'/data': ['a:file', 'sub:dir'], '/data/sub': ['b:file']});
  });

  it('an archive of the root names entries from /', async () => {
    expect(await listings('/', [{name: '/', type: 'directory'}, {name: '/etc/', type: 'directory'}, {name: '/etc/passwd'}]))
      .toEqual({'/': ['etc:dir'], '/etc': ['passwd:file']});
  });

  it('drops every breakout (moby pkg/archive): climbing, absolute, outside, empty and dot components', async () => {
    expect(await listings('/data', [
      {name: 'data/', type: 'directory'}, {name: 'data/ok'},
      {name: '../../etc/passwd'}, {name: 'data/../../etc/passwd'}, {name: '/etc/passwd'}, {name: '/data/abs'},
      {name: 'other/x'}, {name: 'datax/y'}, {name: 'data//empty'}, {name: 'data/./dot'}, {name: 'data/..'}, {name: '..'},
    ])).toEqual({'/data': ['ok:file']});
  });

  it('nothing is listed through a symlink, nor below something that is not a directory', async () => {
    expect(await listings('/data', [
      {name: 'data/', type: 'directory'}, {name: 'data/link', type: 'symlink', linkname: '/etc'}, {name: 'data/link/passwd'},
      {name: 'data/file'}, {name: 'data/file/x'}, {name: 'data/missing/x'},
      {name: 'data/hard', type: 'link', linkname: '../../etc/shadow'},
    ])).toEqual({'/data': ['file:file', 'hard:file', 'link:symlink']});
  });

  it('a name given twice keeps its last entry; a directory given again as a link lists nothing below', async () => {
    expect(await listings('/data', [
      {name: 'data/', type: 'directory'}, {name: 'data/d/', type: 'directory'}, {name: 'data/d/x'},
      {name: 'data/d', type: 'symlink', linkname: '/etc'}, {name: 'data/d/y'}, {name: 'data/f'}, {name: 'data/f', type: 'fifo'},
    ])).toEqual({'/data': ['d:symlink', 'f:fifo']});
  });
});
