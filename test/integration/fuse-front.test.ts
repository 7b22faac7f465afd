// front.ts driving the real dbox-fuse for the real engine's containers: a tree dbox-fuse cannot open
// is answered with an error, which this side reports (the mount's log) and does not take as served:
// the next sync sends it again, and once the tree can be opened the name appears.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {Engine} from '../../src/docker/engine.js';
import {FrontServer} from '../../src/fuse/front.js';
import {isMounted} from '../../src/fuse/mounts.js';
import {fuseHelper} from '../../src/self.js';
import {Namespace} from '../../src/vfs/namespace.js';
import {makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();
const usable = hasEngine && fs.existsSync(fuseHelper) && fs.existsSync('/dev/fuse') && process.getuid?.() === 0;
if (process.env['CI'] === 'true' && !usable) throw new Error('CI=true but dbox-fuse, /dev/fuse or root is missing');

describe.runIf(usable)('front.ts and dbox-fuse answers', () => {
  let fixture: Fixture;
  let work: string;
  let running: string;
  let stopped: string;

  beforeAll(() => {
    fixture = makeFixture('front', {'data/here': 'here\n'});
    running = fixture.run('running');
    stopped = fixture.create('stopped');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-front-'));
  });
  afterAll(() => {
    fixture?.cleanup();
    if (work && !isMounted(path.join(work, 'mnt'))) fs.rmSync(work, {recursive: true, force: true});
  });

  it('a tree that cannot be opened is reported, not served, and sent again once it can be', async () => {
    const mnt = path.join(work, 'mnt');
    const engineDir = path.join(work, 'engine'); // where stopped containers' trees would be: empty
    fs.mkdirSync(mnt);
    fs.mkdirSync(engineDir);
    const logs: string[] = [];
    const front = await FrontServer.start(fuseHelper, mnt, new Namespace(new Engine()), engineDir, (line) => logs.push(line));
    try {
      expect(logs).toContain(`mount: +${stopped}: error ${stopped}: cannot open its tree: No such file or directory`);
      const listing = fs.readdirSync(mnt);
      expect(listing).toContain(running);
      expect(listing).not.toContain(stopped);
      expect(fs.readFileSync(path.join(mnt, running, 'data/here'), 'utf8')).toBe('here\n');

      // The tree appears: the next sync (an engine event calls it) sends the name again.
      fs.mkdirSync(path.join(engineDir, stopped));
      fs.writeFileSync(path.join(engineDir, stopped, 'marker'), 'now\n');
      logs.length = 0;
      await front.sync();
      expect(logs.filter((l) => l.includes(stopped))).toEqual([]);
      expect(fs.readdirSync(mnt)).toContain(stopped);
      expect(fs.readFileSync(path.join(mnt, stopped, 'marker'), 'utf8')).toBe('now\n');
    } finally {
      await front.stop();
    }
    expect(isMounted(mnt)).toBe(false);
  });
});
