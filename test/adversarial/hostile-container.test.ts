// Adversarial suite, part 1: a hostile container (lib/hostile.ts) against every path dbox has —
// builtins (in-process, local and engine drivers), external commands through the mount (both
// servers: dbox-fuse and fuse-native), and cp in every direction. Test names carry the number of
// the issue-10 finding they check (F1..F10, Medium, Low). After every case: the host canaries
// keep content, mode, owner and mtime; nothing is left (mounts, runtime files, temporaries in
// containers and destinations).
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, requireEngine} from '../integration/engine.js';
import {makeCanaries, type Canaries} from './lib/canary.js';
import {buildHostileImage, CONTAINER_SIDE, containerFile, createdContainer, DEPTHS, ESC_DIR, linkDir, NAMES, runContainer,
  resetContainerSide, type HostileImage} from './lib/hostile.js';
import {makeLoopFs, type LoopFs} from './lib/loop.js';
import {blockedOn, clean, sweep, dboxArgs, dboxLine, gone, mountsUnder, sh, killTree, leftovers, makeWorld, onTerminal, rawEscapes, start, temporariesUnder,
  waitFor, endSession, type World} from './lib/run.js';

const hasEngine = requireEngine();

/** A /dev/kmsg record: `prio,seq,usec,flags;text`. */
const KMSG = /^\d+,\d+,\d+,[-c+];/m;

describe.runIf(hasEngine)('adversarial: a hostile container', () => {
  let world: World;
  let canaries: Canaries;
  let image: HostileImage;
  let running: string;
  let stopped: string;
  let loop: LoopFs;
  let blockToken: string;
  const dests: string[] = [];
  const dest = (label: string): string => {
    const d = world.mkdir(`dest-${label}`);
    dests.push(d);
    return d;
  };
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => world.env(extra);
  /** The containers' own files at the canary paths as the image has them (cases that read them start so). */
  const pristine = (): void => {
    for (const c of [running, stopped]) resetContainerSide(c, image.tag, canaries);
  };
  const servers: [string, NodeJS.ProcessEnv][] = [['dbox-fuse', {}], ['fuse-native', {DBOX_FUSE: 'node'}]];

  beforeAll(() => {
    world = makeWorld('hostile');
    canaries = makeCanaries(world.base);
    image = buildHostileImage('hostile', world.base, canaries);
    running = runContainer(image.tag, 'adv-run');
    stopped = createdContainer(image.tag, 'adv-stop');
    // A block device whose bytes hold a token: a node for it is planted in the running container.
    loop = makeLoopFs(world.mkdir('loop'), 16);
    world.ownMounts.push(loop.mnt);
    blockToken = `DBOX-BLOCK-CANARY-${process.pid}-${Date.now()}`;
    fs.writeFileSync(path.join(loop.mnt, 'token.txt'), `${blockToken}\n`.repeat(64));
    execFileSync('sync');
    execFileSync('docker', ['exec', running, 'mknod', '-m', '0666', '/devs/disk', 'b', String(loop.major), String(loop.minor)]);
  });

  afterEach(() => {
    // Observe everything, put everything back, then judge (a failed check must not leave the next case dirty).
    const now = canaries.record();
    const left = leftovers(world);
    const temps = dests.splice(0).flatMap((d) => temporariesUnder(d));
    const inContainers = [running, stopped].flatMap((c) =>
      execFileSync('docker', ['diff', c], {encoding: 'utf8'}).split('\n').filter((l) => l.includes('.dbox-')));
    if (JSON.stringify(now) !== JSON.stringify(canaries.original)) canaries.restore();
    sweep(world);
    expect(now, 'host canaries changed').toEqual(canaries.original);
    expect(left, 'left behind').toEqual(clean);
    expect(temps, 'temporaries in a destination').toEqual([]);
    expect(inContainers, 'temporaries in a container').toEqual([]);
  });

  afterAll(() => {
    image?.cleanup();
    loop?.cleanup();
    if (loop) expect(loop.attached(), 'a loop device left').toEqual([]);
    canaries?.cleanup();
    world?.cleanup();
  });

  /** Runs `CMD PATH` for the links of every depth through the mount, one external shell line. */
  const throughMount = (container: string, cmd: (dir: string) => string, e: NodeJS.ProcessEnv) =>
    dboxLine(`${DEPTHS.map((d) => `echo "== ${d}"; ${cmd(`/containers/${container}${linkDir(d)}`)}`).join('; ')} 2>&1 | cat`, e);

  // ---- F1: relative symlinks never lead out of the mount ----

  for (const [server, extra] of servers) {
    it(`F1 relative links: head/cat through the mount at depths 1-8 never read a host file [${server}, running]`, async () => {
      pristine();
      const r = await throughMount(running, (d) => `head -1 ${d}/rel; cat ${d}/relroot; head -1 ${d}/reldir/inner.txt; head -1 ${d}/abs`, env(extra));
      expect(canaries.leaks(r.stdout), r.out).toBe(false);
      // The absolute link reads the container's own file (this works today and must keep working).
      expect(r.out.split('\n').filter((l) => l === CONTAINER_SIDE.file.trim()).length).toBeGreaterThanOrEqual(DEPTHS.length);
    });
  }

  it('F1 relative links: reads through the mount of a stopped container (engine mount) never read a host file', async () => {
    const r = await throughMount(stopped, (d) => `head -1 ${d}/rel; cat ${d}/relroot; head -1 ${d}/reldir/inner.txt`, env());
    expect(canaries.leaks(r.stdout), r.out).toBe(false);
  });

  for (const [server, extra] of servers) {
    it(`F1 relative links: echo >> through the mount never appends to a host file [${server}]`, async () => {
      for (const c of [running, stopped]) {
        const r = await throughMount(c, (d) => `echo PWNED >> ${d}/rel; echo PWNED >> ${d}/relroot; echo PWNED >> ${d}/reldir/inner.txt`, env(extra));
        expect(canaries.leaks(r.stdout), r.out).toBe(false);
        expect(canaries.record(), `${c}: ${r.out}`).toEqual(canaries.original);
      }
    });

    it(`F1 relative directory links: cd into one, then touch and /bin/ls never show or change a host directory [${server}]`, async () => {
      for (const c of [running, stopped]) {
        for (const d of [1, 4, 8]) {
          const r = await dboxLine(`cd /containers/${c}${linkDir(d)}/reldir && touch pwned-${d} && /bin/ls -a && /bin/ls sub`, env(extra));
          expect(canaries.leaks(r.stdout)).toBe(false);
          expect(canaries.record(), `${c} depth ${d}`).toEqual(canaries.original);
        }
      }
    });
  }

  it('F1/F10 dbox mount DIR, read with host tools: links never lead to the host, devices never open the host\'s', async () => {
    const mnt = world.mkdir('mnt');
    const m = await dboxArgs(['mount', mnt], env(), {deadlineMs: 60_000});
    expect(m.status, m.err).toBe(0);
    try {
      for (const c of [running, stopped]) {
        const reads = DEPTHS.map((d) => `timeout 10 head -1 '${mnt}/${c}${linkDir(d)}/rel' '${mnt}/${c}${linkDir(d)}/relroot' '${mnt}/${c}${linkDir(d)}/reldir/inner.txt'`);
        const r = await sh(`${reads.join('; ')}; timeout 10 ls -la '${mnt}/${c}/links/d1/reldir/'; timeout 5 head -c 4096 '${mnt}/${c}/devs/kmsg'; true`, {deadlineMs: 120_000});
        expect(canaries.leaks(r.stdout), `${c}: ${r.out}`).toBe(false);
        expect(r.out, c).not.toMatch(KMSG);
        await sh(`for d in '${mnt}/${c}/links/d1' '${mnt}/${c}/links/d1/d2/d3/d4/d5/d6/d7/d8'; do timeout 10 touch "$d/reldir/pwned-by-mount"; echo PWNED | timeout 10 tee -a "$d/rel" >/dev/null; done; true`);
        expect(canaries.record(), c).toEqual(canaries.original);
      }
    } finally {
      await dboxArgs(['umount', mnt], env());
      await waitFor(() => mountsUnder(mnt).length === 0, 10_000);
    }
  });

  it('F1 builtins: cat, ls -l, ls -R, and cd then ls through every link read the container, never the host [running, stopped]', async () => {
    pristine();
    for (const c of [running, stopped]) {
      for (const d of DEPTHS) {
        const dir = `/containers/${c}${linkDir(d)}`;
        const r = await dboxLine(`cat ${dir}/rel ${dir}/abs ${dir}/relroot ${dir}/reldir/inner.txt ${dir}/absdir/inner.txt`, env());
        expect(canaries.leaks(r.stdout), `${c} ${d}: ${r.out}`).toBe(false);
        if (r.status === 0) {
          expect(r.out).toBe(CONTAINER_SIDE.file + CONTAINER_SIDE.file + CONTAINER_SIDE.rootFile + CONTAINER_SIDE.inner + CONTAINER_SIDE.inner);
        }
        const cd = await dboxLine(`cd ${dir}/reldir && ls -a`, env());
        expect(cd.out.split('\n').filter(Boolean).sort(), `${c} ${d}: ${cd.err}`).toEqual(['.', '..', 'inner.txt', 'sub']);
      }
      const l = await dboxLine(`ls -l /containers/${c}/links/d1 && ls -R /containers/${c}/links`, env());
      expect(l.status, l.err).toBe(0);
      expect(canaries.leaks(l.stdout)).toBe(false);
    }
  });

  it('F1 cp through links in every direction stays inside the container', async () => {
    pristine();
    const to = dest('f1cp');
    const src = path.join(to, 'host-src.txt');
    fs.writeFileSync(src, 'from the host\n');
    for (const c of [running, stopped]) {
      for (const d of [1, 5, 8]) {
        const dir = `/containers/${c}${linkDir(d)}`;
        // container -> host: the link's content in the container
        const out = path.join(to, `${path.basename(c)}-${d}.txt`);
        const r1 = await dboxLine(`cp ${dir}/rel ${out}`, env());
        // The container's file (an earlier iteration may have written the host's source into it).
        if (r1.status === 0) expect(['from the host\n', CONTAINER_SIDE.file]).toContain(fs.readFileSync(out, 'utf8'));
        // host -> container, onto a link and into a directory link: lands in the container
        await dboxLine(`cp ${src} ${dir}/rel`, env());
        await dboxLine(`cp ${src} ${dir}/reldir/`, env());
        await dboxLine(`cp -r ${to} ${dir}/reldir/`, env());
      }
      // container -> container, trees of links
      await dboxLine(`cp -r /containers/${c}/links /containers/${running}/tmp/links-${path.basename(c)}`, env());
      await dboxLine(`cp -a /containers/${running}/links /containers/${c}/tmp/`, env());
    }
    expect(canaries.record()).toEqual(canaries.original);
    for (const f of fs.readdirSync(to)) if (f !== 'host-src.txt') expect(canaries.leaks(fs.readFileSync(path.join(to, f)))).toBe(false);
  });

  // ---- F6: set-id bits and the umask, as GNU cp ----

  it('F6 plain cp and cp -r from a container drop setuid/setgid and apply the umask, as GNU cp does', async () => {
    // GNU cp on the same files on the host, with the same umask, is the reference.
    const ref = dest('f6ref');
    for (const [n, mode] of [['suid', 0o4755], ['sgid', 0o2755], ['plain', 0o777]] as const) {
      fs.writeFileSync(path.join(ref, n), 'x\n');
      fs.chmodSync(path.join(ref, n), mode);
    }
    const gnu = dest('f6gnu');
    execFileSync('sh', ['-c', `umask 027 && for f in suid sgid plain; do cp "${ref}/$f" "${gnu}/$f"; done && cp -r "${ref}" "${gnu}/tree"`]);
    const expected = (f: string): number => fs.statSync(path.join(gnu, f)).mode & 0o7777;
    for (const c of [running, stopped]) {
      const to = dest(`f6-${c}`);
      const r = spawnSync('sh', ['-c', `umask 027 && exec "${process.execPath}" "${dboxPath}" -c "$0"`,
        `cp /containers/${c}/setid/suid /containers/${c}/setid/sgid /containers/${c}/setid/plain ${to}/ && cp -r /containers/${c}/setid ${to}/tree`],
      {env: env(), encoding: 'utf8'});
      expect(r.status, r.stderr).toBe(0);
      for (const f of ['suid', 'sgid', 'plain']) {
        expect((fs.statSync(path.join(to, f)).mode & 0o7777).toString(8), `${c} cp ${f}`).toBe(expected(f).toString(8));
        expect((fs.statSync(path.join(to, 'tree', f)).mode & 0o7777).toString(8), `${c} cp -r ${f}`).toBe(
          (fs.statSync(path.join(gnu, 'tree', f)).mode & 0o7777).toString(8));
      }
    }
  });

  // ---- F10: device nodes and FIFOs ----

  it('F10 cat of a character device planted in a container is refused; the host kernel log is never printed [running, stopped]', async () => {
    for (const c of [running, stopped]) {
      for (const dev of ['kmsg', 'null']) {
        const r = await dboxLine(`cat /containers/${c}/devs/${dev}`, env(), {deadlineMs: 10_000});
        expect(r.timedOut, `${c} ${dev}: dbox did not end`).toBe(false);
        expect(r.out, `${c} ${dev}`).not.toMatch(KMSG);
        expect(r.status, `${c} ${dev}`).not.toBe(0);
        expect(r.err, `${c} ${dev}`).toContain(`/devs/${dev}`);
      }
    }
  });

  it('F10 a device node read through the mount never yields the host device', async () => {
    for (const [server, extra] of servers) {
      const r = await dboxLine(`head -c 4096 /containers/${running}/devs/kmsg; head -c 1000000 /containers/${running}/devs/disk | grep -c ${blockToken}; true`,
        env(extra), {deadlineMs: 30_000});
      expect(r.timedOut, `${server}: dbox did not end`).toBe(false);
      expect(r.out, server).not.toMatch(KMSG);
      expect(r.out.trim().split('\n').at(-1), `${server}: the block device's bytes`).not.toMatch(/^[1-9]/);
    }
  });

  it('F10 cat of a block device node is refused; the host device is never read', async () => {
    const r = await dboxLine(`cat /containers/${running}/devs/disk`, env(), {deadlineMs: 20_000});
    expect(r.timedOut).toBe(false);
    expect(r.stdout.includes(blockToken)).toBe(false);
    expect(r.status).not.toBe(0);
    expect(r.err).toContain('/devs/disk');
  });

  it('F10 plain cp of a device node from a container is refused and creates nothing', async () => {
    for (const c of [running, stopped]) {
      const to = dest(`f10cp-${c}`);
      const r = await dboxLine(`cp /containers/${c}/devs/kmsg ${to}/kmsg`, env(), {deadlineMs: 20_000});
      expect(r.timedOut, c).toBe(false);
      expect(r.status, c).not.toBe(0);
      expect(r.err, c).toContain('/devs/kmsg');
      const st = fs.lstatSync(path.join(to, 'kmsg'), {throwIfNoEntry: false});
      if (st) {
        expect(st.isCharacterDevice() || st.isBlockDevice(), c).toBe(false);
        expect(fs.readFileSync(path.join(to, 'kmsg'), 'utf8'), c).not.toMatch(KMSG);
      }
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`F10/Medium cat of a FIFO in a container ends promptly on ${signal}`, async () => {
      const run = start(['-c', `cat /containers/${running}/devs/${image.fifo}`], {env: env(), deadlineMs: 60_000});
      const pid = run.child.pid!;
      let ended = false;
      let sent = 0;
      try {
        // Until dbox waits on the FIFO (a thread asleep in the kernel on it), or has ended by itself.
        const reached = await waitFor(() => gone(pid) || blockedOn(pid, /fifo|pipe|wait_for_partner/, new RegExp(image.fifo)), 20_000);
        expect(reached, 'dbox never reached the FIFO').toBe(true);
        sent = Date.now();
        if (!gone(pid)) process.kill(pid, signal);
        ended = await waitFor(() => gone(pid), 5_000);
      } finally {
        if (!gone(pid)) killTree(pid);
      }
      const r = await run.done;
      expect(ended, `dbox still ran ${Date.now() - sent} ms after ${signal}`).toBe(true);
      expect(r.status).not.toBe(0);
    });
  }

  // ---- Medium: devices and planted links in copies to the host ----

  it('Medium cp -r and cp -a from a container create no device nodes on the host', async () => {
    for (const c of [running, stopped]) {
      for (const flag of ['-r', '-a']) {
        const to = dest(`devs-${flag}`);
        await dboxLine(`cp ${flag} /containers/${c}/devs ${to}/devs`, env(), {deadlineMs: 60_000});
        const found = spawnSync('find', [to, '(', '-type', 'c', '-o', '-type', 'b', ')', '-print'], {encoding: 'utf8'}).stdout.trim();
        expect(found, `${c} cp ${flag}`).toBe('');
      }
    }
  });

  it('Medium a later copy never writes through a host symlink that an earlier copy planted', async () => {
    // A fresh container: its /plant links are turned into files and directories between copies.
    const c = runContainer(image.tag, 'adv-plant');
    try {
      for (const flag of ['-a', '-r']) {
        const to = dest(`plant${flag}`);
        const first = await dboxLine(`cp -a /containers/${c}/plant ${to}/`, env());
        expect(first.status, first.err).toBe(0);
        execFileSync('docker', ['exec', c, 'sh', '-c', 'cd /plant && rm abs rel dir && echo PWNED > abs && echo PWNED > rel && mkdir dir && echo PWNED > dir/inner.txt && echo PWNED > dir/new.txt']);
        await dboxLine(`cp ${flag} /containers/${c}/plant ${to}/`, env());
        expect(canaries.record(), `a second cp ${flag} merged into the first one's tree`).toEqual(canaries.original);
        await dboxLine(`cp /containers/${c}/plant/abs /containers/${c}/plant/rel ${to}/plant/`, env());
        expect(canaries.record(), `a plain cp onto the links cp ${flag} planted`).toEqual(canaries.original);
        execFileSync('docker', ['exec', c, 'sh', '-c', `cd /plant && rm -rf abs rel dir && ln -s ${canaries.file} abs && ln -s ../../../../../../../../../../../../../../..${canaries.file} rel && ln -s ${canaries.dir} dir`]);
      }
    } finally {
      spawnSync('docker', ['rm', '-f', c], {stdio: 'ignore'});
    }
  });

  // ---- Medium: terminal escapes ----

  it('Medium terminal: names, link targets, owners and error messages never reach a terminal raw', async () => {
    const esc = `/containers/${running}/names`;
    const lines = [`ls ${esc}`, `ls -l ${esc}`, `ls -R ${esc}`, `ls -la ${esc}/link`, `ls ${esc}/dir*`, `cd ${esc}/title*`,
      `cat ${esc}/dir*`, `cp ${esc}/dir* /nonexistent-dir/x`, `ls /containers/${stopped}/names`, `ls -l /containers/${stopped}/names`];
    for (const line of lines) {
      const r = await onTerminal(line, env());
      expect(r.timedOut, line).toBe(false);
      expect(rawEscapes(r.stdout), `${line}: ${JSON.stringify(r.out)}`).toEqual([]);
    }
  });

  it('Medium terminal: the interactive prompt never passes a container escape to the terminal (tmux pane title)', async () => {
    const session = `dbox-adv-${process.pid}`;
    const e = env();
    const vars = ['NO_COLOR', 'XDG_RUNTIME_DIR', 'TMPDIR'].map((k) => `${k}='${e[k]}'`).join(' ');
    spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '150', '-y', '40', `${vars} ${process.execPath} ${dboxPath}`]);
    try {
      spawnSync('tmux', ['select-pane', '-t', session, '-T', 'adv-title']);
      const title = (): string => execFileSync('tmux', ['display-message', '-p', '-t', session, '#{pane_title}'], {encoding: 'utf8'}).trim();
      const screen = (): string => execFileSync('tmux', ['capture-pane', '-p', '-t', session], {encoding: 'utf8'});
      expect(await waitFor(() => /dbox:/.test(screen()), 20_000), screen()).toBe(true);
      spawnSync('tmux', ['send-keys', '-t', session, '-l', `cd /containers/${running}/names/dir*`]);
      spawnSync('tmux', ['send-keys', '-t', session, 'Enter']);
      await waitFor(() => /inside|names\/dir/.test(screen()) || /PWNED/.test(title()), 5_000);
      spawnSync('tmux', ['send-keys', '-t', session, '-l', 'ls; ls -l ..']);
      spawnSync('tmux', ['send-keys', '-t', session, 'Enter']);
      await waitFor(() => /inside\.txt/.test(screen()) || /PWNED/.test(title()), 10_000);
      spawnSync('tmux', ['send-keys', '-t', session, '-l', `ls /containers/${running}/names/ti`]);
      spawnSync('tmux', ['send-keys', '-t', session, 'Tab', 'Tab']);
      await waitFor(() => /PWNED/.test(title()), 2_000, 100);
      expect(title()).not.toContain('PWNED');
    } finally {
      await endSession(session, world);
    }
  });

  it('Medium terminal: without a terminal, ls -1 prints names byte for byte as GNU ls does', async () => {
    const host = dest('gnu-names');
    const names = Buffer.from(path.join(host, 'names'));
    fs.mkdirSync(names);
    for (const n of Object.values(NAMES)) fs.writeFileSync(Buffer.concat([names, Buffer.from('/'), n]), 'named\n');
    fs.mkdirSync(path.join(host, 'names', ESC_DIR));
    fs.symlinkSync('x', path.join(host, 'names/link'));
    fs.writeFileSync(path.join(host, 'names/owned'), '');
    const gnu = execFileSync('ls', ['-1', path.join(host, 'names')], {env: {...process.env, LC_ALL: 'C'}});
    for (const c of [running, stopped]) {
      const r = await dboxLine(`ls -1 /containers/${c}/names`, env());
      expect(r.stdout.toString('latin1'), c).toBe(gnu.toString('latin1'));
    }
  });

  // ---- Low: invalid UTF-8 ----

  it('Low invalid UTF-8 names are reachable and copied byte for byte', async () => {
    for (const c of [running, stopped]) {
      const r = await dboxLine(`cat /containers/${c}/names/inv*`, env());
      expect(r.status, `${c}: ${r.err}`).toBe(0);
      expect(r.out).toBe('named\n');
      const to = dest('utf8');
      const cp = await dboxLine(`cp -r /containers/${c}/names ${to}/`, env());
      expect(cp.status, cp.err).toBe(0);
      const copied = (fs.readdirSync(Buffer.from(path.join(to, 'names')), {encoding: 'buffer'}) as Buffer[]).map((b) => b.toString('hex'));
      for (const n of Object.values(NAMES)) expect(copied, `${c}: ${JSON.stringify(n.toString('latin1'))}`).toContain(n.toString('hex'));
    }
  });

  // ---- 6: a container process racing link swaps ----

  it('F1/F3 race: a container swapping directories with host links during cp -r and reads through the mount never leads outside', async () => {
    const script = `cd /race && while :; do mv a a.d; ln -s ${canaries.dir} a; rm a; ln -s ../../../../../../../../../../../../../../..${canaries.dir} a; rm a; mv a.d a; done`;
    const racer = spawn('docker', ['exec', running, 'sh', '-c', script], {stdio: 'ignore'});
    const to = dest('race');
    try {
      const copies = [];
      for (let i = 0; i < 12; i++) copies.push(await dboxLine(`cp -r /containers/${running}/race ${to}/t${i}`, env()));
      for (const r of copies) if (r.status !== 0) expect(r.err).toMatch(/^cp: /m);
      const reads = await dboxLine(`for i in $(seq 1 150); do cat /containers/${running}/race/a/inner.txt /containers/${running}/race/a/file.txt; ls /containers/${running}/race/a/; done 2>&1 | cat`, env(), {deadlineMs: 120_000});
      expect(canaries.leaks(reads.stdout)).toBe(false);
      const builtin = await dboxLine(`cat /containers/${running}/race/a/inner.txt; cat /containers/${running}/race/a/inner.txt; ls /containers/${running}/race/a`, env());
      expect(canaries.leaks(builtin.stdout)).toBe(false);
    } finally {
      racer.kill('SIGKILL');
      spawnSync('docker', ['exec', running, 'sh', '-c', 'kill $(ps | grep "cd /race" | grep -v grep | cut -c1-6) 2>/dev/null; cd /race && { [ -d a ] || { rm -f a; mv a.d a; }; }'], {stdio: 'ignore'});
    }
    for (const f of spawnSync('find', [to, '-type', 'f'], {encoding: 'utf8'}).stdout.split('\n').filter(Boolean)) {
      expect(canaries.leaks(fs.readFileSync(f)), f).toBe(false);
    }
    expect(spawnSync('find', [to, '-name', 'inner.txt'], {encoding: 'utf8'}).stdout.trim(), 'a host file copied').toBe('');
  });

  it('nothing of the attacks above got into the containers by way of the host', () => {
    for (const c of [running, stopped]) expect(containerFile(c, '/etc/marker')?.toString()).toBe('CONTAINER-MARKER\n');
  });
});
