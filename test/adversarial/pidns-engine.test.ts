// Adversarial suite, part 3: a second, real dockerd in a PID namespace of its own
// (lib/pidns-engine.ts). Its containers' State.Pid are small numbers of that namespace; a host
// process is planted at exactly that number (lib/plant.ts, chrooted into a root of its own holding a
// token; if a kernel thread holds the number, that is the target). Through its unix socket dbox
// takes the engine for a local one: cat, ls, cp, the mount and attach must never serve the planted
// process (or the host's /), and the container's own files must still be reached. Through its TLS
// port the same engine is remote: running containers are served by the engine driver (exec and
// archive), where a container that replaced its /bin/sh answers listings with `../` entries (F3)
// and the hostile fixture's links, devices, set-id files and names are tried again.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, requireEngine} from '../integration/engine.js';
import {makeCanaries, type Canaries} from './lib/canary.js';
import {buildHostileImage, CONTAINER_SIDE, DEPTHS, linkDir, type HostileImage} from './lib/hostile.js';
import {makeToolbox} from './lib/loop.js';
import {startPidnsEngine, type PidnsEngine} from './lib/pidns-engine.js';
import {plant, type Plant} from './lib/plant.js';
import {clean, dboxArgs, dboxLine, leftovers, makeWorld, mountsUnder, onTerminal, rawEscapes, sh, sweep, waitFor, type World} from './lib/run.js';

const hasEngine = requireEngine();

/** What holds host pid `pid`, for messages: its name and root, as far as this process may see them
 *  (a thread of an init this sandbox cannot trace answers EACCES to readlink of its root). */
function describePid(pid: number): string {
  const read = (f: () => string): string => {
    try {
      return f();
    } catch (error) {
      return `? (${(error as {code?: string}).code})`;
    }
  };
  return `${read(() => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim())} (root ${read(() => fs.readlinkSync(`/proc/${pid}/root`))})`;
}
const KMSG = /^\d+,\d+,\d+,[-c+];/m;

describe.runIf(hasEngine)('adversarial: a second dockerd in its own PID namespace', () => {
  let world: World;
  let canaries: Canaries;
  let image: HostileImage;
  let engine: PidnsEngine;
  let planted: Plant;
  let statePid: number;
  let toolbox: string;
  let outer: string | undefined;
  const name = `adv-pidns-${process.pid}`;
  const liar = `adv-liar-${process.pid}`;
  const hostRootBefore = fs.readdirSync('/').filter((n) => /dbox/i.test(n));
  const unix = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => world.env({...engine.unixEnv(), ...extra});
  const tls = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => world.env({...engine.tlsEnv(), ...extra});
  /** The remote engine with its running containers served by the engine driver (the archive API and
   *  programs run in the container), not the agent: the driver these cases attack. */
  const archive = (): NodeJS.ProcessEnv => tls({DBOX_AGENT: '0'});

  beforeAll(async () => {
    world = makeWorld('pidns');
    canaries = makeCanaries(world.base);
    toolbox = path.join(world.mkdir('toolbox'), 'tools');
    makeToolbox(toolbox);
    image = buildHostileImage('pidns', world.base, canaries, (root) => {
      // A /bin/sh that lies to dbox's listing script, installed in the liar container at test time.
      const up = '../'.repeat(14);
      fs.writeFileSync(path.join(root, 'evil-sh'), `#!/bin/busybox sh
case "$2" in
  *"stat -c"*) printf '%s\\n' "81a4 1 0 0 6 1700000000 ${up}${canaries.dir.slice(1)}/pwned-sh" "81a4 1 0 0 6 1700000000 ../pwned-sh-outer" "81a4 1 0 0 6 1700000000 a/b" "81a4 1 0 0 25 1700000000 hello.txt"; exit 0;;
esac
exec /bin/busybox sh "$@"
`, {mode: 0o755});
      fs.writeFileSync(path.join(root, canaries.dir, 'pwned-sh'), 'PWNED\n');
      fs.writeFileSync(path.join(root, 'pwned-sh-outer'), 'PWNED\n');
      fs.mkdirSync(path.join(root, 'data/a'), {recursive: true});
      fs.writeFileSync(path.join(root, 'data/a/b'), 'PWNED\n');
    });
    engine = await startPidnsEngine(world.base);
    engine.load(image.tag);
    engine.docker('run', '-d', '--network', 'none', '--name', name, '--hostname', 'advpidns', image.tag, 'sleep', '2147483647');
    engine.docker('run', '-d', '--network', 'none', '--name', liar, '--hostname', 'advliar', image.tag, 'sleep', '2147483647');
    engine.docker('exec', liar, '/bin/busybox', 'ln', '-sf', '/evil-sh', '/bin/sh');
    statePid = Number(engine.docker('inspect', '-f', '{{.State.Pid}}', name));
    planted = plant(world.base, statePid);
  });

  afterEach(() => {
    // Observe everything, put everything back, then judge (a failed check must not leave the next case dirty).
    const now = canaries.record();
    const plantedNow = planted.occupied ? undefined : planted.record();
    const plantedBefore = planted.occupied ? undefined : planted.original;
    const hostRoot = fs.readdirSync('/').filter((n) => /dbox/i.test(n));
    const left = leftovers(world);
    const beside = outer ? fs.readdirSync(outer) : ['dest'];
    outer = undefined;
    if (JSON.stringify(now) !== JSON.stringify(canaries.original)) canaries.restore();
    if (!planted.occupied) planted.rebase();
    sweep(world);
    expect(now, 'host canaries changed').toEqual(canaries.original);
    expect(plantedNow, 'the planted process root changed').toEqual(plantedBefore);
    expect(hostRoot, 'host / changed').toEqual(hostRootBefore);
    expect(left, 'left behind').toEqual(clean);
    expect(beside, 'written beside the destination').toEqual(['dest']);
  });

  afterAll(() => {
    planted?.kill();
    engine?.stop();
    image?.cleanup();
    canaries?.cleanup();
    for (const n of fs.readdirSync('/').filter((x) => x === '.dbox-adv' || x.startsWith('dbox-adv-at-'))) {
      spawnSync('sh', ['-c', `umount -l '/${n}' 2>/dev/null; rmdir '/${n}'`]);
    }
    world?.cleanup();
  });

  it('setup: the container pid is a number of the other namespace, and a host process holds that number', () => {
    expect(statePid).toBeGreaterThan(0);
    expect(fs.existsSync(`/proc/${statePid}`), 'nothing at that pid on the host').toBe(true);
    expect(planted.pid).toBe(statePid);
    // The host process at that number is not the container itself (else the case proves nothing).
    const comm = fs.readFileSync(`/proc/${statePid}/comm`, 'utf8').trim();
    expect(fs.existsSync(`/proc/${statePid}/root/etc/marker`), `pid ${statePid} on the host is ${comm}, the container itself`).toBe(false);
  });

  it('F4/5 unix socket of a foreign PID namespace: cat, ls, cp serve the container, never the process at its pid number', async () => {
    const cat = await dboxLine(`cat /containers/${name}/etc/hostname /containers/${name}/etc/marker`, unix());
    const occupant = describePid(statePid);
    expect(cat.out.includes(planted.token), `served the root of host pid ${statePid}: ${occupant}`).toBe(false);
    expect(cat.err).toBe('');
    expect(cat.out, `host pid ${statePid}: ${occupant}`).toBe('advpidns\nCONTAINER-MARKER\n');
    const ls = await dboxLine(`ls -a /containers/${name}/`, unix());
    expect(ls.out).not.toMatch(/PLANTED-MARKER/);
    expect(ls.out.split('\n')).toContain('links');
    const links = await dboxLine(DEPTHS.map((d) => `cat /containers/${name}${linkDir(d)}/rel`).join('; '), unix());
    expect(canaries.leaks(links.stdout)).toBe(false);
    outer = world.mkdir('outer-pidns');
    const to = path.join(outer, 'dest');
    fs.mkdirSync(to);
    const cp = await dboxLine(`cp -r /containers/${name}/etc ${to}/`, unix());
    expect(cp.status, cp.err).toBe(0);
    expect(fs.readFileSync(path.join(to, 'etc/marker'), 'utf8')).toBe('CONTAINER-MARKER\n');
    const src = path.join(world.base, 'src.txt');
    fs.writeFileSync(src, 'PWNED-WRITE\n');
    await dboxLine(`cp ${src} /containers/${name}/tmp/written && cp ${src} /containers/${name}/etc/hostname`, unix());
  });

  it('F4/5 the mount with that engine serves the container, never the process at its pid number', async () => {
    const mnt = world.mkdir('mnt');
    const m = await dboxArgs(['mount', mnt], unix(), {deadlineMs: 60_000});
    expect(m.status, m.err).toBe(0);
    try {
      const r = await sh(`timeout 10 cat '${mnt}/${name}/etc/marker'; timeout 10 ls -a '${mnt}/${name}/'`);
      expect(r.out.includes(planted.token)).toBe(false);
      expect(r.out).not.toMatch(/PLANTED-MARKER/);
      expect(r.out.startsWith('CONTAINER-MARKER\n'), r.out).toBe(true);
    } finally {
      await dboxArgs(['umount', mnt], unix());
      await waitFor(() => mountsUnder(mnt).length === 0, 10_000);
    }
  });

  it('F4/5 attach with that engine never injects into the process at its pid number', async () => {
    for (const method of ['auto', 'mount-api', 'upload']) {
      const r = await dboxArgs(['attach', name, toolbox, '--method', method, '--at', '/.dbox-adv', '--', '/.dbox-adv/bin/cat', '/etc/marker'],
        unix(), {deadlineMs: 60_000});
      expect(r.out.includes(planted.token), `${method}: ran in the planted process`).toBe(false);
      expect(fs.existsSync(path.join(planted.root, '.dbox-adv')), `${method}: created in the planted root`).toBe(false);
      // (/etc/marker: a file no other case writes; the write case above lands in /etc/hostname.)
      if (r.status === 0) expect(r.out, method).toBe('CONTAINER-MARKER\n');
    }
  });

  it('F3 through a real remote engine (TLS): a replaced /bin/sh answering listings with ../ and a/b never makes cp -r write outside the destination', async () => {
    for (const flag of ['-r', '-a']) {
      outer = world.mkdir(`outer-liar${flag}`);
      const to = path.join(outer, 'dest');
      fs.mkdirSync(to);
      const r = await dboxLine(`cp ${flag} /containers/${liar}/data ${to}/`, archive(), {deadlineMs: 60_000});
      expect(canaries.record(), `cp ${flag}`).toEqual(canaries.original);
      expect(fs.readdirSync(outer), `cp ${flag}`).toEqual(['dest']);
      expect(r.status, `cp ${flag}: hostile names are an error`).not.toBe(0);
      expect(r.err, `cp ${flag}`).toMatch(new RegExp(`^cp: /containers/${liar}/data: .*refused`, 'm'));
      expect(fs.readdirSync(outer)).toEqual(['dest']);
      if (flag === '-r') {
        fs.rmSync(outer, {recursive: true, force: true});
        outer = undefined;
      }
    }
  });

  it('F3 through a real remote engine (TLS) served by the agent: the container\'s replaced /bin/sh is never asked, cp -r copies its real tree', async () => {
    outer = world.mkdir('outer-liar-agent');
    const to = path.join(outer, 'dest');
    fs.mkdirSync(to);
    const r = await dboxLine(`cp -r /containers/${liar}/data ${to}/`, tls(), {deadlineMs: 60_000});
    expect(canaries.record()).toEqual(canaries.original);
    expect(r.status, r.err).toBe(0);
    expect(fs.readdirSync(outer)).toEqual(['dest']);
    expect(fs.readdirSync(path.join(to, 'data')).sort()).toEqual(engine.docker('exec', liar, '/bin/busybox', 'ls', '-A', '/data').split('\n').filter(Boolean).sort());
    fs.rmSync(outer, {recursive: true, force: true});
    outer = undefined;
  });

  it('engine driver, running container (TLS): links read the container\'s own files', async () => {
    const links = await dboxLine(DEPTHS.map((d) => `cat /containers/${name}${linkDir(d)}/rel /containers/${name}${linkDir(d)}/abs`).join('; '), archive());
    expect(canaries.leaks(links.stdout)).toBe(false);
    expect(links.out).toBe(CONTAINER_SIDE.file.repeat(DEPTHS.length * 2));
  });

  it('F10 engine driver, running container (TLS): cat of a device node is refused', async () => {
    const kmsg = await dboxLine(`cat /containers/${name}/devs/kmsg`, archive(), {deadlineMs: 20_000});
    expect(kmsg.timedOut).toBe(false);
    expect(kmsg.out).not.toMatch(KMSG);
    expect(kmsg.status).not.toBe(0);
    expect(kmsg.err).toContain('/devs/kmsg');
  });

  it('Medium engine driver, running container (TLS): cp -r / cp -a create no device nodes', async () => {
    const to = world.mkdir('dest-tls-devs');
    for (const flag of ['-r', '-a']) await dboxLine(`cp ${flag} /containers/${name}/devs ${to}/devs${flag}`, archive(), {deadlineMs: 30_000});
    expect(spawnSync('find', [to, '(', '-type', 'c', '-o', '-type', 'b', ')', '-print'], {encoding: 'utf8'}).stdout).toBe('');
  });

  it('F6 engine driver, running container (TLS): plain cp drops setuid and applies the umask, as GNU cp', async () => {
    const to = world.mkdir('dest-tls-setid');
    const cp = spawnSync('sh', ['-c', `umask 027 && exec "${process.execPath}" "${dboxPath}" -c "$0"`, `cp /containers/${name}/setid/suid ${to}/suid`],
      {env: archive(), encoding: 'utf8'});
    expect(cp.status, cp.stderr).toBe(0);
    const gnuRef = path.join(to, 'ref');
    fs.writeFileSync(gnuRef, 'x');
    fs.chmodSync(gnuRef, 0o4755);
    execFileSync('sh', ['-c', `umask 027 && cp '${gnuRef}' '${to}/gnu'`]);
    expect((fs.statSync(path.join(to, 'suid')).mode & 0o7777).toString(8)).toBe((fs.statSync(path.join(to, 'gnu')).mode & 0o7777).toString(8));
  });

  it('Medium engine driver, running container (TLS): names never reach a terminal raw', async () => {
    for (const line of [`ls /containers/${name}/names`, `ls -l /containers/${name}/names`]) {
      const t = await onTerminal(line, archive());
      expect(rawEscapes(t.stdout), line).toEqual([]);
    }
  });
});
