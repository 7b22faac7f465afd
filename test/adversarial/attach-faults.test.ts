// dbox-attach inject when the machine says no: the LD_PRELOAD shim (adversaries/fault-shim.c)
// makes the Nth allocation or open of the real dbox-attach fail, for every N an inject into a
// running container makes, so that every step of attach-inject.h (prepare, mount, run, undo) meets
// a failure at each of its calls. Whatever fails: the status is the program's (0) or an attach
// error (125, 124) with a line on stderr, never a signal; nothing is left in the container (no
// mount at the target, no directory attach made) and no state file on the host, or, where the
// failure kept attach from removing what it made, that is said, recorded, and `cleanup` removes it.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {attachHelper} from '../../src/self.js';
import {docker, makeFixture, requireEngine, type Fixture} from '../integration/engine.js';
import {buildFaultShim, faultEnv, faultLog, type FaultFamily} from './lib/faults.js';

const hasEngine = requireEngine();
const usable = hasEngine && fs.existsSync(attachHelper) && process.getuid?.() === 0;
if (process.env['CI'] === 'true' && !usable) throw new Error('CI=true but dbox-attach, the engine or root is missing');

const TARGET = '/opt/dbox-fault/tools'; // the fixture has no /opt: attach makes all three

type Family = Exclude<FaultFamily, 'pthread_create'>; // dbox-attach starts no thread

describe.runIf(usable)('dbox-attach inject under injected failures (LD_PRELOAD)', () => {
  let fixture: Fixture;
  let work: string;
  let shim: string;
  let source: string;
  let name: string;
  let pid: string;
  let id: string;

  beforeAll(() => {
    fixture = makeFixture('attach-faults');
    name = fixture.run('c');
    pid = docker('inspect', '-f', '{{.State.Pid}}', name);
    id = docker('inspect', '-f', '{{.Id}}', name);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-attach-faults-'));
    shim = buildFaultShim(work);
    source = path.join(work, 'source');
    fs.mkdirSync(path.join(source, 'bin'), {recursive: true});
    fs.writeFileSync(path.join(source, 'marker'), 'attached\n');
  });
  afterAll(() => {
    fixture?.cleanup();
    if (work) fs.rmSync(work, {recursive: true, force: true});
  });

  /** What the container and the host show of attach after it ended. */
  function leftovers(): {mounts: string[]; dir: boolean; state: string[]} {
    const mounts = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter((l) => l.includes('/opt/dbox-fault'));
    const dir = fs.existsSync(`/proc/${pid}/root/opt`);
    const stateDir = path.join(work, 'state');
    return {mounts, dir, state: fs.existsSync(stateDir) ? fs.readdirSync(stateDir) : []};
  }

  function run(family: Family, n: number): {status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; calls: number; injected: boolean} {
    const log = path.join(work, `calls-${family}-${n}`);
    const r = spawnSync(attachHelper, ['inject', '--pid', pid, '--id', id, '--source', source, '--target', TARGET, '--method', 'mount-api',
      '--state-dir', path.join(work, 'state'), '--', '/bin/cat', `${TARGET}/marker`], {
      encoding: 'utf8',
      timeout: 30_000,
      env: faultEnv(shim, family, n, 'dbox-attach', log),
    });
    // Each process with the shim (dbox-attach, and its child until exec) logs a line.
    return {status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ...faultLog(log)};
  }

  async function sweep(family: Family): Promise<void> {
    const clean = run(family, 1_000_000);
    expect(clean).toMatchObject({status: 0, stdout: 'attached\n', stderr: '', injected: false});
    expect(leftovers()).toEqual({mounts: [], dir: false, state: []});
    expect(clean.calls).toBeGreaterThan(10); // the sweep below is one run per call
    let failed = 0;
    let recorded = 0;
    for (let n = 1; n <= clean.calls; n++) {
      const r = run(family, n);
      const what = `fault ${family} #${n}: ${JSON.stringify(r)}`;
      expect(r.signal, what).toBe(null);
      if (r.status === 0) {
        expect(r.stdout, what).toBe('attached\n');
      } else {
        failed++;
        expect([124, 125, 126, 127], what).toContain(r.status);
        expect(r.stderr, what).toMatch(/^attach: \S/);
      }
      const left = leftovers();
      if (left.mounts.length > 0 || left.dir || left.state.length > 0) {
        // Left only when it cannot be helped, and then said and recorded: cleanup removes it.
        expect(r.stderr, what).toMatch(/^attach: left .*\nattach: what is left is recorded: attach --cleanup removes it\n$/s);
        expect(left.state, what).toEqual([`${id}.state`]);
        const c = spawnSync(attachHelper, ['cleanup', '--pid', pid, '--id', id, '--target', TARGET, '--state-dir', path.join(work, 'state')], {encoding: 'utf8'});
        expect(c.status, `${what} cleanup: ${c.stderr}`).toBe(0);
        recorded++;
      }
      expect(leftovers(), what).toEqual({mounts: [], dir: false, state: []});
    }
    expect(failed).toBeGreaterThan(0);
  }

  it('every allocation fails in turn: a clean error or the program\'s status, nothing left', async () => {
    await sweep('malloc');
  }, 600_000);

  it('every open fails in turn: a clean error or the program\'s status, nothing left', async () => {
    await sweep('open');
  }, 600_000);
});
