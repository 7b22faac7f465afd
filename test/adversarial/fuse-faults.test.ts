// dbox-fuse when the machine says no: an LD_PRELOAD shim built here (adversaries/fault-shim.c)
// makes the Nth pthread_create, allocation (malloc, calloc, realloc) or open fail inside the real
// dbox-fuse, for every N its start, one control record, one read through the mount and the end
// make. Whatever fails, and wherever: dbox-fuse ends (no hang), says so (an "error ..." line instead
// of "ready", with a non-zero status), never dies by a signal, and leaves no mount behind (the
// mount point is in no line of /proc/self/mountinfo). A failed root answers its record with an
// error and is not served; a failed control thread means no mount at all (EOF could never unmount).
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {createInterface} from 'node:readline';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {fuseHelper} from '../../src/self.js';
import {isMounted} from '../../src/fuse/mounts.js';
import {buildFaultShim, faultEnv, faultLog, type FaultFamily as Family} from './lib/faults.js';

const usable = fs.existsSync(fuseHelper) && fs.existsSync('/dev/fuse') && process.getuid?.() === 0;
if (process.env['CI'] === 'true' && !usable) throw new Error('CI=true but dbox-fuse, /dev/fuse or root is missing');

// DBOX_FUSE_BINARY runs another build through the same sweep (its file name must be dbox-fuse).
const binary = process.env['DBOX_FUSE_BINARY'] ?? fuseHelper;
const DEADLINE_MS = 20_000; // a bound on a hang, never a pace: every wait below ends on an event

interface Outcome {
  readonly n: number;
  readonly first: string; // "ready" or "error ..."
  readonly answer?: string; // to the "+" record, when ready
  readonly served: boolean; // the root's file read through the mount
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly mounted: boolean; // after it ended
  readonly calls: number; // of the family, as the shim counted them
  readonly injected: boolean;
  readonly log: string;
}

describe.runIf(usable)('dbox-fuse under injected failures (LD_PRELOAD)', () => {
  let work: string;
  let shim: string;
  let tree: string;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-faults-'));
    shim = buildFaultShim(work);
    tree = path.join(work, 'tree');
    fs.mkdirSync(tree);
    fs.writeFileSync(path.join(tree, 'f'), 'content\n');
  });
  afterAll(() => {
    fs.rmSync(work, {recursive: true, force: true});
  });

  /** dbox-fuse with the Nth call of `family` failing: start, one root, one read, EOF. */
  async function run(family: Family, n: number, match = ''): Promise<Outcome> {
    const mnt = path.join(work, `mnt-${family}-${n}${match ? '-m' : ''}`);
    fs.mkdirSync(mnt);
    const log = path.join(work, `calls-${family}-${n}`);
    const child = spawn(binary, [mnt], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: faultEnv(shim, family, n, 'dbox-fuse', log, match),
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin!.on('error', () => undefined); // gone before its EOF: that is what is checked
    // 'close', not 'exit': stderr is read to its end (what libfuse said as it ended comes after the exit event at times).
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('close', (code, signal) => r([code, signal])));
    const lines = createInterface({input: child.stdout!})[Symbol.asyncIterator]();
    const deadline = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
    try {
      const first = (await lines.next()).value ?? '';
      let answer: string | undefined;
      let served = false;
      if (first === 'ready') {
        child.stdin!.write(Buffer.from(`+\0web\0${tree}\0w\0`));
        answer = (await lines.next()).value;
        // A read through the mount ends, whatever it answers (a dead server answers ENOTCONN).
        const cat = spawnSync('cat', [path.join(mnt, 'web/f')], {timeout: DEADLINE_MS});
        expect(cat.signal, `cat through the mount, fault ${family} #${n}`).toBe(null);
        served = cat.status === 0 && cat.stdout.toString() === 'content\n';
      }
      child.stdin!.end();
      const [code, signal] = await exited;
      const mounted = isMounted(mnt);
      if (mounted) spawnSync('fusermount3', ['-u', '-z', mnt]);
      fs.rmdirSync(mnt);
      return {n, first, answer, served, code, signal, mounted, ...faultLog(log), log: stderr};
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Every outcome must be clean, whichever call failed. */
  function expectClean(o: Outcome, family: Family): void {
    const what = `fault ${family} #${o.n}: ${JSON.stringify(o)}`;
    expect(o.signal, what).toBe(null); // never killed (the deadline) nor aborted
    expect(o.mounted, what).toBe(false);
    if (o.first === 'ready') {
      expect([0, 1], what).toContain(o.code);
      expect(o.answer ?? 'ok', what).toMatch(/^(ok|error .+)$/);
    } else {
      expect(o.first, what).toMatch(/^error \S/);
      expect(o.code, what).not.toBe(0);
    }
  }

  /** Runs the whole sweep: N from 1 to the number of calls a run without a fault makes. */
  async function sweep(family: Family): Promise<Outcome[]> {
    const clean = await run(family, 1_000_000);
    expect(clean.first).toBe('ready');
    expect(clean.answer).toBe('ok');
    expect(clean.served).toBe(true);
    expect(clean.code).toBe(0);
    expect(clean.injected).toBe(false);
    expect(clean.calls).toBeGreaterThan(0);
    const outcomes: Outcome[] = [];
    for (let n = 1; n <= clean.calls; n++) {
      const o = await run(family, n);
      expectClean(o, family);
      outcomes.push(o);
    }
    return outcomes;
  }

  // The sweeps try every call in turn. Requests from elsewhere (any process walking /tmp) may add
  // calls to a run, so what a given call number hits is asserted only where nothing else can come
  // first: the threads of the start, and opens picked by their path.
  it('pthread_create: the control thread that cannot start means no mount and an error, and no other thread leaves one', async () => {
    const outcomes = await sweep('pthread_create');
    // 1: libgcc_s's cancellation loaded, 2: the control thread, 3: inotify's, 4: libfuse's first worker.
    expect(outcomes[1]!.first).toBe('error cannot start the control thread: Resource temporarily unavailable');
    expect(outcomes[1]!.code).toBe(1);
    expect(outcomes[1]!.mounted).toBe(false);
    expect(outcomes[2]!).toMatchObject({first: 'ready', served: true, code: 0}); // without inotify: served all the same
    expect(outcomes[3]!).toMatchObject({first: 'ready', code: 1}); // the loop could not start: the mount went, the status says so
    expect(outcomes[3]!.log).toMatch(/error creating thread/);
  }, 300_000);

  it('malloc: every allocation of the start, a record, a read and the end fails in turn; each ends cleanly', async () => {
    const outcomes = await sweep('malloc');
    expect(outcomes.filter((o) => o.injected).length).toBeGreaterThan(10);
    expect(outcomes.some((o) => o.first.startsWith('error '))).toBe(true); // before the mount
  }, 600_000);

  it('open: every open fails in turn; a root that cannot be opened is answered with an error and not served; /dev/fuse that cannot be opened is no mount', async () => {
    await sweep('open');
    const root = await run('open', 1, tree);
    expectClean(root, 'open');
    expect(root).toMatchObject({first: 'ready', answer: 'error web: cannot open its tree: Too many open files', served: false, code: 0});
    const device = await run('open', 1, '/dev/fuse');
    expectClean(device, 'open');
    expect(device).toMatchObject({first: 'error cannot mount (see the log)', code: 1, mounted: false});
    expect(device.log).toMatch(/\/dev\/fuse: Too many open files/);
  }, 300_000);
});
