import {describe, expect, it} from 'vitest';
import {VirtualDirs} from '../../src/vfs/virtual-dirs.js';

describe('virtual directories (/images, /volumes and the levels of image names)', () => {
  const dirs = new VirtualDirs(async () => ['busybox:latest', 'dbox-test/noshell:latest']);
  it('lists names level by level and knows only the levels they make', async () => {
    expect((await dirs.readdir('/')).map((e) => e.name).sort()).toEqual(['busybox:latest', 'dbox-test']);
    expect((await dirs.readdir('/dbox-test')).map((e) => e.name)).toEqual(['noshell:latest']);
    await expect(dirs.stat('/nope')).rejects.toMatchObject({code: 'ENOENT'});
    await expect(dirs.mkdir('/x')).rejects.toMatchObject({code: 'EROFS'});
  });
  it('its top is a directory even when the engine does not answer (the session binds it at its start)', async () => {
    const down = new VirtualDirs(() => Promise.reject(Object.assign(new Error('connect ENOENT'), {code: 'EIO'})));
    expect((await down.stat('/')).mode & 0o170000).toBe(0o040000);
    await expect(down.readdir('/')).rejects.toThrow();
  });
});
