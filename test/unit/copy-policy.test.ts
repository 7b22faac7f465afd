// What a copy may make, by where it comes from and goes; and the modes it gives, compared with
// what GNU cp (/bin/cp on this host) gives the same entries.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {COPY_DEVICES, COPY_DROP_SETID, COPY_LINKS, COPY_OWNER, COPY_PRESERVE, COPY_SPARSE_ALWAYS, COPY_SPARSE_NEVER, COPY_TIMES,
  native} from '../../src/native.js';
import {copyPolicy} from '../../src/vfs/copy-policy.js';

const host = {isHost: true};
const container = {isHost: false};

const P = COPY_PRESERVE | COPY_OWNER | COPY_TIMES;

describe('copyPolicy', () => {
  it.each([
    ['host -> host', host, host, false, undefined, COPY_DEVICES, true],
    ['host -> container', host, container, false, undefined, COPY_DEVICES, true],
    ['container -> container', container, container, true, undefined, P | COPY_DEVICES, false],
    ['container -> host', container, host, false, undefined, COPY_DROP_SETID, false],
    ['container -> host, -p', container, host, true, undefined, P | COPY_DROP_SETID, false],
    ['container -> host, --devices', container, host, false, true, COPY_DROP_SETID | COPY_DEVICES, false],
    ['unknown (no isHost) -> host', {}, host, false, undefined, COPY_DROP_SETID, false],
  ] as const)('%s', (_what, src, dst, preserve, devices, flags, follow) => {
    expect(copyPolicy(src, dst, {preserve, ...(devices ? {devices} : {})})).toEqual({flags, followDestLinks: follow});
  });

  it('--preserve=LIST names each attribute alone; --sparse=WHEN', () => {
    expect(copyPolicy(host, host, {preserve: ['timestamps']}).flags).toBe(COPY_TIMES | COPY_DEVICES);
    expect(copyPolicy(host, host, {preserve: ['links', 'mode']}).flags).toBe(COPY_LINKS | COPY_PRESERVE | COPY_DEVICES);
    expect(copyPolicy(host, host, {preserve: ['ownership'], sparse: 'never'}).flags).toBe(COPY_OWNER | COPY_SPARSE_NEVER | COPY_DEVICES);
    expect(copyPolicy(container, host, {preserve: false, sparse: 'always'}).flags).toBe(COPY_SPARSE_ALWAYS | COPY_DROP_SETID);
  });
});

describe('copyMode against GNU cp', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-modes-'));
  afterAll(() => fs.rmSync(work, {recursive: true, force: true}));
  const src = path.join(work, 'src');
  fs.mkdirSync(src);
  const entries: Record<string, number> = {};
  for (const m of [0o4755, 0o2755, 0o6750, 0o1755, 0o640, 0o777, 0o2700, 0o000, 0o7777]) {
    const p = path.join(src, `f${m.toString(8)}`);
    fs.writeFileSync(p, '');
    fs.chmodSync(p, m);
  }
  for (const m of [0o2775, 0o1777, 0o700, 0o4755, 0o555, 0o6777, 0o7777]) {
    const p = path.join(src, `d${m.toString(8)}`);
    fs.mkdirSync(p);
    fs.chmodSync(p, m);
  }
  for (const m of [0o4666, 0o777, 0o640]) {
    const p = path.join(src, `p${m.toString(8)}`);
    execFileSync('mkfifo', [p]);
    fs.chmodSync(p, m);
  }
  for (const name of fs.readdirSync(src)) entries[name] = fs.lstatSync(path.join(src, name)).mode;

  for (const umask of ['022', '027', '077', '000', '002']) {
    for (const [flags, cpFlags] of [[0, '-r'], [COPY_PRESERVE, '-rp']] as const) {
      it(`cp ${cpFlags} with umask ${umask}`, () => {
        const dst = path.join(work, `dst-${umask}-${cpFlags}`);
        execFileSync('sh', ['-c', `umask ${umask} && /bin/cp ${cpFlags} '${src}' '${dst}'`]);
        const gnu: Record<string, string> = {};
        const ours: Record<string, string> = {};
        for (const [name, mode] of Object.entries(entries)) {
          gnu[name] = (fs.lstatSync(path.join(dst, name)).mode & 0o7777).toString(8);
          ours[name] = native().copyMode(mode, flags, parseInt(umask, 8)).toString(8);
        }
        expect(ours).toEqual(gnu);
      });
    }
  }

  it('from a container to the host no set-id bit is kept, with -p too', () => {
    for (const mode of [0o104755, 0o102755, 0o106750, 0o042775, 0o010666 | 0o4000]) {
      for (const flags of [COPY_DROP_SETID, COPY_DROP_SETID | COPY_PRESERVE]) {
        expect(native().copyMode(mode, flags, 0o022) & 0o6000).toBe(0);
      }
    }
    expect(native().copyMode(0o101777, COPY_DROP_SETID | COPY_PRESERVE, 0o022)).toBe(0o1777);
  });
});
