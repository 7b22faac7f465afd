// npm run bench: dbox against docker exec, docker cp and native /proc/<pid>/root access, side by
// side in one run (medians of interleaved rounds). These machines are shared and noisy: read the
// ratios, not the absolute times. Prints a Markdown table for the README.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {builtins} from '../builtins/index.js';
import {Engine} from '../src/docker/engine.js';
import type {Output, ShellContext} from '../src/shell/context.js';
import {runBuiltin} from '../src/shell/run-builtin.js';
import {Namespace} from '../src/vfs/namespace.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const root = path.resolve(import.meta.dirname, '..');
const sh = (cmd: string): void => {
  execFileSync('sh', ['-c', cmd], {stdio: ['ignore', 'ignore', 'inherit']});
};
const out = (cmd: string): string => execFileSync('sh', ['-c', cmd], {encoding: 'utf8'}).trim();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A builtin line (plain words) run in this process, as the session's bash would have dbox run it. */
function inProcess(ns: Namespace, stdout: Output, stderr: Output): (line: string) => Promise<number> {
  return (line) => {
    const ctx: ShellContext = {
      cwd: '/', home: process.env['HOME'] ?? '/', env: process.env, ns, stdin: new PassThrough(), stdinIsTTY: false,
      stdout, stderr, color: false, signal: new AbortController().signal, run: async () => 127, capture: async () => ({status: 127, stdout: '', stderr: '', error: 'no programs here'}), now: Date.now,
    };
    ns.refresh();
    return runBuiltin(builtins, line.split(' '), ctx);
  };
}

async function time(fn: () => unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

interface Row {
  readonly what: string;
  readonly variants: Record<string, number>;
}

/**
 * Runs every variant once per round, interleaved, with `reset` before each run (untimed). Each run
 * starts with dirty pages written back, so no variant pays for the previous one's writeback.
 */
async function compare(what: string, variants: Record<string, () => unknown>, cleanup: () => void = () => undefined): Promise<Row> {
  const reset = (): void => {
    cleanup();
    sh('sync');
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const fn of Object.values(variants)) { reset(); await fn(); } // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of Object.entries(variants)) {
      reset();
      times[name]!.push(await time(fn));
    }
  }
  const row = {what, variants: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]))};
  process.stderr.write(`${what}: ${Object.entries(row.variants).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')}\n`);
  return row;
}

/** The FUSE mount as external commands see it: the fast path (dbox-fuse), and fuse-native alone
 *  (DBOX_FUSE=node, what serves stopped and remote containers), against native access. */
async function fuseFigures(dboxBin: string, a: string, ra: string): Promise<Row[]> {
  const rows: Row[] = [];
  const mounts = {dbox: '', 'fuse-native': ''};
  for (const [variant, env] of [['dbox', {}], ['fuse-native', {DBOX_FUSE: 'node'}]] as const) {
    const mnt = fs.mkdtempSync('/tmp/dbox-bench-mnt-');
    execFileSync(process.execPath, [dboxBin, 'mount', mnt], {stdio: 'ignore', env: {...process.env, ...env}});
    mounts[variant] = `${mnt}/${a}`;
  }
  // Each variant has its own file name where it writes: the mounts and the native path are one
  // container, and a file removed behind a mount's back is still known to it for up to 1 s.
  const each = (cmd: (dir: string, name: string) => string): Record<string, () => unknown> => ({
    ...Object.fromEntries(Object.entries(mounts).map(([k, m]) => [k, () => sh(cmd(m, k))])),
    native: () => sh(cmd(ra, 'native')),
  });
  try {
    rows.push(await compare('FUSE: read 256 MiB (cat > /dev/null)', each((d) => `cat ${d}/big > /dev/null`)));
    rows.push(await compare('FUSE: write 256 MiB (dd bs=1M)', each((d, name) => `dd if=${ra}/big of=${d}/written-${name} bs=1M status=none`), () => {
      // Removed through the mount that wrote each, so its entry cache knows.
      for (const [name, d] of [...Object.entries(mounts), ['native', ra]]) fs.rmSync(`${d}/written-${name}`, {force: true});
    }));
    rows.push(await compare('FUSE: find tree \\| wc -l (10,000 files)', each((d) => `find ${d}/tree | wc -l > /dev/null`)));
    rows.push(await compare('FUSE: du -s tree', each((d) => `du -s ${d}/tree > /dev/null`)));
  } finally {
    for (const m of Object.values(mounts)) {
      execFileSync(process.execPath, [dboxBin, 'umount', path.dirname(m)], {stdio: 'ignore'});
      fs.rmdirSync(path.dirname(m));
    }
  }
  return rows;
}

async function main(): Promise<void> {
  if (process.env['BENCH_ONLY'] === 'remote') return remoteFigures(); // one section, while working on it
  if (process.env['BENCH_ONLY'] === 'agent') return agentFigures();
  if (process.env['BENCH_ONLY'] === 'nonroot') return nonRootFigures();
  if (process.env['BENCH_ONLY'] === 'link') {
    const {execFile} = await import('node:child_process');
    const {promisify} = await import('node:util');
    return agentRemoteFigures(promisify(execFile)); // the agent on a TLS engine and behind a shaped link
  }
  if (process.env['BENCH_ONLY'] === 'stopped') {
    const {execFile} = await import('node:child_process');
    const {promisify} = await import('node:util');
    return agentStoppedFigures(promisify(execFile));
  }
  sh(`docker image inspect dbox-test/busybox >/dev/null 2>&1 || ${root}/scripts/fixtures.sh images`);
  const a = `dbox-bench-a-${process.pid}`;
  const b = `dbox-bench-b-${process.pid}`;
  for (const n of [a, b]) sh(`docker run -d --network none --name ${n} dbox-test/busybox sleep 2147483647`);
  try {
    const pa = out(`docker inspect -f '{{.State.Pid}}' ${a}`);
    const pb = out(`docker inspect -f '{{.State.Pid}}' ${b}`);
    const ra = `/proc/${pa}/root`;
    const rb = `/proc/${pb}/root`;
    // Fixtures: a 256 MiB file and 10,000 files of 1 KiB in 100 directories.
    sh(`head -c ${256 << 20} /dev/urandom > ${ra}/big`);
    const kib = Buffer.alloc(1024, 7);
    for (let d = 0; d < 100; d++) {
      fs.mkdirSync(`${ra}/tree/d${d}`, {recursive: true});
      for (let f = 0; f < 100; f++) fs.writeFileSync(`${ra}/tree/d${d}/f${f}`, kib);
    }
    sh(`mkdir -p ${rb}/dest && cat ${ra}/big > /dev/null`);

    const devnull = fs.openSync('/dev/null', 'w');
    const sink = new PassThrough().resume();
    const output = {stream: sink, fd: devnull, isTTY: false, columns: 80};
    const runLine = inProcess(new Namespace(new Engine()), output, {...output, stream: process.stderr, fd: 2});
    const dbox = async (line: string): Promise<void> => {
      const status = await runLine(line);
      if (status !== 0) throw new Error(`dbox ${line}: status ${status}`);
    };

    const dboxBin = path.join(root, 'bin/dbox.js');
    const rows: Row[] = [];
    const only = process.env['BENCH_ONLY'];
    if (only === 'interactive') return await interactiveFigures(dboxBin, a, ra);
    if (only !== 'fuse') {
      // Whole-process start first, before the large copies leave writeback behind them.
      rows.push(await compare('whole process: ls -l /etc', {
        dbox: () => {
          const r = spawnSync(process.execPath, [dboxBin, '-c', `ls -l /containers/${a}/etc`], {stdio: 'ignore'});
          if (r.status !== 0) throw new Error('dbox ls failed');
        },
        'docker exec': () => sh(`docker exec ${a} ls -l /etc > /dev/null`),
        'node -e 0': () => sh(`${process.execPath} -e 0`),
      }));
      rows.push(await compare('whole process: attach a -- true', {
        dbox: () => {
          const r = spawnSync(process.execPath, [dboxBin, 'attach', a, '--', 'true'], {stdio: 'ignore'});
          if (r.status !== 0) throw new Error('dbox attach failed');
        },
        'docker exec': () => sh(`docker exec ${a} true`),
      }));
      rows.push(await compare('cat 256 MiB', {
        native: () => sh(`cat ${ra}/big > /dev/null`),
        dbox: () => dbox(`cat /containers/${a}/big`),
        'docker cp': () => sh(`docker cp ${a}:/big - > /dev/null`),
        'docker exec': () => sh(`docker exec ${a} cat /big > /dev/null`),
      }));
      rows.push(await compare('cp 256 MiB container→container', {
        native: () => sh(`cp ${ra}/big ${rb}/dest/big`),
        dbox: () => dbox(`cp /containers/${a}/big /containers/${b}/dest/big`),
        'docker cp': () => sh(`docker cp ${a}:/big - | docker cp - ${b}:/dest/`),
      }, () => fs.rmSync(`${rb}/dest/big`, {force: true})));
      // Each tree copy goes to a fresh name: deleting 10,000 files keeps ext4 busy for seconds after,
      // which would slow whichever variant runs next. They are removed at the end.
      let n = 0;
      rows.push(await compare('cp -a tree 10,000 × 1 KiB container→container', {
        native: () => sh(`cp -a ${ra}/tree ${rb}/dest/tree${++n}`),
        dbox: () => dbox(`cp -a /containers/${a}/tree /containers/${b}/dest/tree${++n}`),
        'docker cp': () => sh(`mkdir ${rb}/dest/tree${++n} && docker cp ${a}:/tree - | docker cp - ${b}:/dest/tree${n}/`),
      }));
    }
    rows.push(...(await fuseFigures(dboxBin, a, ra)));
    fs.closeSync(devnull);
    print(rows);
    if (only === 'fuse') return;
    await interactiveFigures(dboxBin, a, ra);
    await remoteFigures();
    await agentFigures();
  } finally {
    sh(`docker rm -f ${a} ${b} > /dev/null`);
  }
}

const tmux = (...args: string[]): string => execFileSync('tmux', args, {encoding: 'utf8'});
const screen = (name: string): string => tmux('capture-pane', '-t', name, '-p');

async function until(name: string, re: RegExp, timeoutMs = 10_000): Promise<number> {
  const t = process.hrtime.bigint();
  for (;;) {
    if (re.test(screen(name))) return Number(process.hrtime.bigint() - t) / 1e6;
    if (Number(process.hrtime.bigint() - t) / 1e6 > timeoutMs) throw new Error(`bench: ${re} never showed`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** The interactive shell's figures, in a real terminal (tmux): medians of ROUNDS. */
async function interactiveFigures(dboxBin: string, a: string, ra: string): Promise<void> {
  const {complete} = await import('../src/shell/complete.js');
  const {namespaceSource} = await import('../src/shell/completion-source.js');
  fs.writeFileSync(`${ra}/lines.txt`, Array.from({length: 10_000}, (_, i) => `line ${i}`).join('\n') + '\n');
  const name = `dbox-bench-${process.pid}`;
  const start: number[] = [];
  const bash: number[] = [];
  const ready: number[] = [];
  const firstExternal: number[] = [];
  const laterExternal: number[] = [];
  const emptyLine: number[] = [];
  const echoDuring: number[] = [];
  const echoAfter: number[] = [];
  const keys = (text: string): void => void tmux('send-keys', '-t', name, '-l', text);
  /** Types a line, then times Enter to `re` on the screen. */
  const timed = async (text: string, re: RegExp): Promise<number> => {
    keys(text);
    await until(name, new RegExp(`${text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    const t = process.hrtime.bigint();
    tmux('send-keys', '-t', name, 'Enter');
    await until(name, re, 30_000);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  for (let r = 0; r < ROUNDS; r++) {
    spawnSync('tmux', ['kill-session', '-t', name]);
    const t = process.hrtime.bigint();
    tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', `${process.execPath} ${dboxBin}`);
    await until(name, /dbox:\S*\$/);
    start.push(Number(process.hrtime.bigint() - t) / 1e6);
    const b = process.hrtime.bigint();
    spawnSync('bash', ['-i', '-c', 'exit'], {stdio: 'ignore'});
    bash.push(Number(process.hrtime.bigint() - b) / 1e6);
    // A line typed as soon as the prompt shows: it runs once bash has read its startup files.
    ready.push(await timed(': first', /: first\ndbox:\S*\$ ?$/m) + Number(process.hrtime.bigint() - t) / 1e6 - start.at(-1)!);
    // The first command on a container path, typed a second after the prompt showed (as a person
    // types it: the mount, started with the session, is up by then), then the same kind again.
    await new Promise((res) => setTimeout(res, Math.max(0, 1000 - (Number(process.hrtime.bigint() - t) / 1e6 - start.at(-1)!))));
    firstExternal.push(await timed(`wc -l /containers/${a}/lines.txt`, /^10000 \/containers\//m));
    laterExternal.push(await timed(`wc -c /containers/${a}/lines.txt`, new RegExp(`^${fs.statSync(`${ra}/lines.txt`).size} /containers/`, 'm')));
    // A line that does nothing: what feeding bash one line costs, Enter to the next prompt.
    emptyLine.push(await timed(`: r${r}`, new RegExp(`: r${r}\\ndbox:\\S*\\$ ?$`, 'm')));
    // A key typed while 10,000 lines are printed, and one typed at the prompt right after.
    keys(`cat /containers/${a}/lines.txt`);
    tmux('send-keys', '-t', name, 'Enter');
    await until(name, /^line \d+$/m); // typed once the output scrolls
    const k = process.hrtime.bigint();
    keys('Z');
    await until(name, /Z/);
    echoDuring.push(Number(process.hrtime.bigint() - k) / 1e6);
    await until(name, /line 9999/);
    await until(name, /\$ Z?$/m);
    const q = process.hrtime.bigint();
    keys('Q');
    await until(name, /\$ Z?Q$/m);
    echoAfter.push(Number(process.hrtime.bigint() - q) / 1e6);
    spawnSync('tmux', ['kill-session', '-t', name]);
  }
  // Completion of a container path, after the first lookup of that directory (in-process).
  const ns = new Namespace(new Engine());
  const source = namespaceSource(ns, process.env, builtins.map((b) => b.name));
  const line = `cat /containers/${a}/etc/ho`;
  await complete(line, line.length, {cwd: '/', home: '/root'}, source);
  const tab: number[] = [];
  for (let r = 0; r < Math.max(ROUNDS, 20); r++) tab.push(await time(() => complete(line, line.length, {cwd: '/', home: '/root'}, source)));
  const alternative = serialisedStateLine();
  const ms = (xs: number[]): string => `${median(xs).toFixed(1)} ms`;
  const ratio = (x: number[], y: number[]): string => `${(median(x) / median(y)).toFixed(2)}×`;
  process.stdout.write(['', '| interactive shell (tmux, medians) | figure | compared with |', '| --- | --- | --- |',
    `| start to first prompt | ${ms(start)} | \`bash -i -c exit\`: ${ms(bash)} (${ratio(start, bash)}; target ≤ 1.5×) |`,
    `| start to a first line run (\`:\` typed as the prompt shows) | ${ms(ready)} | \`bash -i -c exit\`: ${ms(bash)} (${ratio(ready, bash)}) |`,
    `| first command on a container path (\`wc -l\`, typed 1 s after the prompt), Enter to output | ${ms(firstExternal)} | a later one: ${ms(laterExternal)} (${ratio(firstExternal, laterExternal)}; target ≤ 2×) |`,
    `| a line that does nothing (\`:\`), Enter to the next prompt | ${ms(emptyLine)} | bash -c per line, state saved and restored: ${ms(alternative)} of processes alone |`,
    `| Tab completion of a container path, after the first lookup | ${ms(tab)} | target < 30 ms |`,
    `| keystroke to echo while 10,000 lines are printed | ${ms(echoDuring)} | target < 30 ms |`,
    `| keystroke to echo at the prompt right after them | ${ms(echoAfter)} | target < 50 ms |`, ''].join('\n'));
  await editorFigures();
}

/**
 * The line editor alone (components/read-line.tsx, as the controller uses it), in tmux through the
 * test driver (test/e2e/editor-driver.tsx): keystroke to echo at an idle prompt, and while a
 * background job floods the terminal with output.
 */
async function editorFigures(): Promise<void> {
  const {buildDriver} = await import('../harness/editor-driver-build.js');
  const dir = fs.mkdtempSync('/tmp/dbox-bench-editor-');
  const name = `dbox-bench-editor-${process.pid}`;
  const idle: number[] = [];
  const flooded: number[] = [];
  try {
    const driver = await buildDriver(dir);
    const letters = 'ABCDEFGHIJKLMNOPQRST';
    for (let r = 0; r < ROUNDS; r++) {
      spawnSync('tmux', ['kill-session', '-t', name]);
      tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', `cd ${dir} && env EDITOR_PROMPT='$ ' EDITOR_PLAIN=1 ${process.execPath} ${driver}`);
      await until(name, /^\$ ?$/m);
      for (let i = 0; i < letters.length; i++) {
        const k = process.hrtime.bigint();
        tmux('send-keys', '-t', name, '-l', letters[i]!);
        await until(name, new RegExp(`^\\$ ${letters.slice(0, i + 1)}$`, 'm'));
        idle.push(Number(process.hrtime.bigint() - k) / 1e6);
      }
      tmux('send-keys', '-t', name, 'C-u');
      await until(name, /^\$ ?$/m);
      // A background job writes 2,000,000 lines while the prompt is up. The screen scrolls too fast
      // to find a key on it: the echo is found in what the pane receives (tmux pipe-pane).
      const log = path.join(dir, `pane${r}.log`);
      tmux('pipe-pane', '-o', '-t', name, `cat > ${log}`);
      tmux('send-keys', '-t', name, '-l', 'seq 1 2000000 &');
      tmux('send-keys', '-t', name, 'Enter');
      await until(name, /^\d{4,}$/m);
      const fd = fs.openSync(log, 'r');
      let offset = fs.fstatSync(fd).size;
      const chunk = Buffer.alloc(1 << 20);
      for (let i = 0; i < letters.length; i++) {
        const k = process.hrtime.bigint();
        tmux('send-keys', '-t', name, '-l', letters[i]!);
        for (;;) {
          const n = fs.readSync(fd, chunk, 0, chunk.length, offset);
          offset += n;
          if (chunk.subarray(0, n).includes(letters.charCodeAt(i))) break;
          if (Number(process.hrtime.bigint() - k) / 1e6 > 10_000) throw new Error('bench: the echo never came');
          if (n === 0) await new Promise((res) => setTimeout(res, 1));
        }
        flooded.push(Number(process.hrtime.bigint() - k) / 1e6);
      }
      fs.closeSync(fd);
      spawnSync('tmux', ['kill-session', '-t', name]);
    }
  } finally {
    spawnSync('tmux', ['kill-session', '-t', name]);
    fs.rmSync(dir, {recursive: true, force: true});
  }
  const ms = (xs: number[]): string => `${median(xs).toFixed(1)} ms (p90 ${[...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!.toFixed(1)} ms)`;
  process.stdout.write(['', '| line editor (readLine, tmux, medians) | figure | target |', '| --- | --- | --- |',
    `| keystroke to echo at an idle prompt | ${ms(idle)} | < 30 ms |`,
    `| keystroke to echo written while a background job floods the terminal | ${ms(flooded)} | < 30 ms |`, ''].join('\n'));
}

/**
 * The design not taken (DESIGN.md section 11), measured: `bash -c` per line, with the state
 * of an interactive bash (the user's startup files read once) saved after each line with
 * declare -p, declare -f, alias -p, shopt -p, set +o and the working directory, and restored
 * before the next. Times of the processes alone (no terminal): medians of 20 lines.
 */
function serialisedStateLine(): number[] {
  const dir = fs.mkdtempSync('/tmp/dbox-bench-state-');
  const state = path.join(dir, 'state');
  const dump = `{ declare -p; declare -f; alias -p; shopt -p; set +o; printf 'cd %q\\n' "$PWD"; } > ${state} 2>/dev/null`;
  try {
    spawnSync('bash', ['-i', '-c', dump], {stdio: 'ignore'});
    const times: number[] = [];
    for (let r = 0; r < 20; r++) {
      const t = process.hrtime.bigint();
      spawnSync('bash', ['-c', `. ${state} 2>/dev/null; :; __s=$?; ${dump}; exit $__s`], {stdio: 'ignore'});
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return times;
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

/** A second engine on TLS loopback, reached through a docker context (test/integration/remote-engine.ts). */
async function remoteFigures(): Promise<void> {
  const {startRemoteEngine} = await import('../harness/remote-engine.js');
  const {defaultEndpoint} = await import('../src/docker/endpoints.js');
  const remote = await startRemoteEngine();
  const home = fs.mkdtempSync('/tmp/dbox-bench-home-');
  const savedHome = process.env['HOME'];
  try {
    remote.context(home, 'remote');
    process.env['HOME'] = home;
    sh(`docker save dbox-test/busybox | docker -H unix://${remote.socket} load -q > /dev/null`);
    const c = 'bench-remote';
    remote.docker('run', '-d', '--network', 'none', '--name', c, 'dbox-test/busybox', 'sleep', '2147483647');
    remote.docker('exec', c, 'sh', '-c', 'head -c 268435456 /dev/urandom > /big; mkdir /many; cd /many; head -c 65536 /dev/urandom > f0; i=1; while [ $i -lt 1000 ]; do cp f0 f$i; i=$((i+1)); done');
    const tls = `--tlsverify --tlscacert ${remote.certs}/ca.pem --tlscert ${remote.certs}/cert.pem --tlskey ${remote.certs}/key.pem -H ${remote.address}`;
    const devnull = fs.openSync('/dev/null', 'w');
    const output = {stream: new PassThrough().resume(), fd: devnull, isTTY: false, columns: 80};
    const run = async (line: string): Promise<void> => {
      const status = await inProcess(new Namespace(new Engine(defaultEndpoint({}))), output, {...output, stream: process.stderr, fd: 2})(line);
      if (status !== 0) throw new Error(`dbox ${line}: status ${status}`);
    };
    const rows: Row[] = [];
    rows.push(await compare('TLS engine: cat 256 MiB', {
      dbox: () => run(`cat /hosts/remote/${c}/big`),
      'docker cp': () => sh(`docker ${tls} cp ${c}:/big - > /dev/null`),
    }));
    rows.push(await compare('TLS engine: list a 1,000-entry directory (64 MiB below it)', {
      dbox: () => run(`ls -l /hosts/remote/${c}/many`),
      'docker cp': () => sh(`docker ${tls} cp ${c}:/many - > /dev/null`),
    }));
    // A repeated listing, served from the listing cache of one command line.
    const ns = new Namespace(new Engine(defaultEndpoint({})));
    await ns.readdir(`/hosts/remote/${c}/many`);
    const cached: number[] = [];
    for (let r = 0; r < 20; r++) cached.push(await time(() => ns.readdir(`/hosts/remote/${c}/many`)));
    fs.closeSync(devnull);
    print(rows);
    process.stdout.write(`\nA repeated listing of that directory, from the cache: ${median(cached).toFixed(2)} ms (median of 20).\n`);
  } finally {
    process.env['HOME'] = savedHome;
    remote.stop();
    fs.rmSync(home, {recursive: true, force: true});
  }
}

/**
 * The dbox agent (issue 13): a non-root user in the docker group against root's dbox and docker
 * cp, whole processes on the local engine; a TLS engine; an engine behind a shaped link (10 ms
 * each way, 100 Mbit: test/integration/shaped-link.ts); the agent's start. Processes are spawned
 * without blocking, since the shaped link's delay line runs in this process.
 */
async function agentFigures(): Promise<void> {
  const {execFile} = await import('node:child_process');
  const {promisify} = await import('node:util');
  const run = promisify(execFile);
  await nonRootFigures();
  await agentStoppedFigures(run);
  await agentRemoteFigures(run);
}

/**
 * A non-root user of the docker group against root's dbox (the local driver) and docker cp / exec,
 * on the local engine: whole processes; in a running shell (one `dbox -c` whose first command opens
 * the agent's session, then the command timed by bash's `time`: what a command at a prompt costs);
 * and external commands through the mount (the user's in a private mount namespace where
 * /dev/fuse is 0666, as most systems have it; this machine's is 0600). BENCH_DBOX names another
 * dbox to measure (bin/dbox.js of another checkout: the figures before a change).
 */
async function nonRootFigures(): Promise<void> {
  const {execFile} = await import('node:child_process');
  const {promisify} = await import('node:util');
  const run = promisify(execFile);
  const dboxBin = process.env['BENCH_DBOX'] ?? path.join(root, 'bin/dbox.js');
  const user = `dboxbench${process.pid % 100000}`;
  const c = `dbox-bench-agent-${process.pid}`;
  const shq = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  const as = (who: string, line: string, env = ''): Promise<unknown> =>
    run('sh', ['-c', `runuser -u ${who} -- env HOME=/ ${env} ${process.execPath} ${dboxBin} -c ${shq(line)} > /dev/null`], {maxBuffer: 1 << 20});
  const rows: Row[] = [];
  const notes: string[] = [];
  sh(`docker image inspect dbox-test/busybox >/dev/null 2>&1 || ${root}/scripts/fixtures.sh images`);
  sh(`useradd -M -d / ${user} && usermod -aG docker ${user}`);
  sh(`docker run -d --network none --name ${c} dbox-test/busybox sleep 2147483647 > /dev/null`);
  try {
    const pid = out(`docker inspect -f '{{.State.Pid}}' ${c}`);
    sh(`head -c ${256 << 20} /dev/urandom > /proc/${pid}/root/big && cat /proc/${pid}/root/big > /dev/null`);
    // The agent's start: the first command of a fresh engine (no agent), then a later one (the agent runs).
    const start: number[] = [];
    const later: number[] = [];
    // (BENCH_AGENT_START=0 skips this: it removes every agent of the engine, other users' too)
    for (let r = 0; r < (process.env['BENCH_AGENT_START'] === '0' ? 0 : ROUNDS); r++) {
      sh('docker rm -f $(docker ps -aq --filter label=dbox.agent) > /dev/null 2>&1 || true');
      start.push(await time(() => as(user, `cat /containers/${c}/etc/hostname`)));
      later.push(await time(() => as(user, `cat /containers/${c}/etc/hostname`)));
    }
    if (start.length > 0) {
      notes.push(`Agent start (a non-root \`dbox -c 'cat …'\`, whole process): first command on an engine without an agent ${median(start).toFixed(0)} ms, ` +
        `a later one ${median(later).toFixed(0)} ms (the difference is the agent's start: image import, container create and start).`);
    }
    rows.push(await compare('non-root: cat 256 MiB (whole process)', {
      dbox: () => as(user, `cat /containers/${c}/big`),
      native: () => as('root', `cat /containers/${c}/big`), // root's dbox, in the native column
      'docker cp': () => run('sh', ['-c', `docker cp ${c}:/big - > /dev/null`]),
    }));
    rows.push(await compare('non-root: ls -l /etc (whole process)', {
      dbox: () => as(user, `ls -l /containers/${c}/etc`),
      native: () => as('root', `ls -l /containers/${c}/etc`),
      'docker exec': () => run('sh', ['-c', `docker exec ${c} ls -l /etc > /dev/null`]),
    }));
    sh(`docker exec ${c} sh -c 'mkdir /many && cd /many && i=0; while [ $i -lt 1000 ]; do echo "line $i root" > f$i; i=$((i+1)); done'`);
    const fusedev = fs.mkdtempSync('/tmp/dbox-bench-fusedev-');
    const userHome = fs.mkdtempSync('/tmp/dbox-bench-home-'); // the session keeps its mount's log there
    sh(`chown ${user}: ${userHome}`);
    /** `line` timed by bash's `time` in one dbox session of `who`, after `first` opened it (ms). */
    const inShell = async (who: string, first: string, line: string): Promise<number> => {
      const script = `${first} > /dev/null; TIMEFORMAT=%3R; time ${line} > /dev/null`;
      const cmd = `runuser -u ${who} -- env HOME=${who === user ? userHome : '/root'} ${process.execPath} ${dboxBin} -c ${shq(script)} 2>&1 >/dev/null`;
      // The user's FUSE: a private mount namespace with /dev/fuse open to them (it goes with the namespace).
      const ns = `mount -t tmpfs none ${fusedev} && mknod ${fusedev}/fuse c 10 229 && chmod 666 ${fusedev}/fuse && ` +
        `mount --bind ${fusedev}/fuse /dev/fuse && umount -l ${fusedev} && ${cmd}`;
      const {stdout} = await run('unshare', ['-m', 'sh', '-c', ns], {maxBuffer: 1 << 20});
      const seconds = Number(stdout.trim().split('\n').pop());
      if (!Number.isFinite(seconds)) throw new Error(`bench: ${script}: ${stdout}`);
      return seconds * 1000;
    };
    /** A row of in-shell timings: medians of ROUNDS interleaved rounds. */
    const shellRow = async (what: string, variants: Record<string, () => Promise<number>>): Promise<Row> => {
      const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
      for (const fn of Object.values(variants)) await fn(); // warm-up
      for (let r = 0; r < ROUNDS; r++) for (const [k, fn] of Object.entries(variants)) times[k]!.push(await fn());
      const row = {what, variants: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]))};
      process.stderr.write(`${what}: ${Object.entries(row.variants).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')}\n`);
      return row;
    };
    const first = `cat /containers/${c}/etc/hostname`;
    const timed = (fn: () => unknown) => () => time(fn);
    try {
      rows.push(await shellRow('non-root: cat 256 MiB in a running shell', {
        dbox: () => inShell(user, first, `cat /containers/${c}/big`),
        native: () => inShell('root', first, `cat /containers/${c}/big`),
        'docker cp': timed(() => run('sh', ['-c', `docker cp ${c}:/big - > /dev/null`])),
      }));
      rows.push(await shellRow('non-root: ls -l of 1,000 entries in a running shell', {
        dbox: () => inShell(user, first, `ls -l /containers/${c}/many`),
        native: () => inShell('root', first, `ls -l /containers/${c}/many`),
        'docker exec': timed(() => run('sh', ['-c', `docker exec ${c} ls -l /many > /dev/null`])),
      }));
      // Through the mount (a new one each time: the kernel's caches are cold, the page cache warm).
      const ext = `command cat /containers/${c}/etc/hostname`;
      rows.push(await shellRow('non-root, through the mount: cat 256 MiB', {
        dbox: () => inShell(user, ext, `command cat /containers/${c}/big`),
        native: () => inShell('root', ext, `command cat /containers/${c}/big`),
        'docker exec': timed(() => run('sh', ['-c', `docker exec ${c} cat /big > /dev/null`])),
      }));
      rows.push(await shellRow('non-root, through the mount: ls -l of 1,000 entries', {
        dbox: () => inShell(user, ext, `command ls -l /containers/${c}/many`),
        native: () => inShell('root', ext, `command ls -l /containers/${c}/many`),
        'docker exec': timed(() => run('sh', ['-c', `docker exec ${c} ls -l /many > /dev/null`])),
      }));
      rows.push(await shellRow('non-root, through the mount: grep -r in 1,000 small files', {
        dbox: () => inShell(user, ext, `grep -rc root /containers/${c}/many`),
        native: () => inShell('root', ext, `grep -rc root /containers/${c}/many`),
        'docker exec': timed(() => run('sh', ['-c', `docker exec ${c} grep -rc root /many > /dev/null`])),
      }));
    } finally {
      fs.rmSync(fusedev, {recursive: true, force: true});
      fs.rmSync(userHome, {recursive: true, force: true});
    }
  } finally {
    sh(`docker rm -f ${c} > /dev/null; userdel ${user} 2>/dev/null || true`);
  }
  print(rows);
  process.stdout.write(`\nIn the rows above the native column is root's dbox (the local driver; through the mount, dbox-fuse). ${notes.join(' ')}\n`);
}

/**
 * Stopped containers through the agent (read from their layers, the default), as root on the
 * local engine (BENCH_ONLY=stopped runs only these): a 300 MB container's listing against a running one's, and cp -r of 10,000
 * files against the docker cp pipe.
 */
async function agentStoppedFigures(run: (cmd: string, args: string[], o?: object) => Promise<unknown>): Promise<void> {
  const dboxBin = path.join(root, 'bin/dbox.js');
  const rows: Row[] = [];
  const up = `dbox-bench-up-${process.pid}`;
  const down = `dbox-bench-down-${process.pid}`;
  const dir = fs.mkdtempSync('/tmp/dbox-bench-stopped-');
  try {
    for (const n of [up, down]) {
      sh(`docker run -d --network none --name ${n} dbox-test/busybox sleep 2147483647 > /dev/null`);
      const r = `/proc/${out(`docker inspect -f '{{.State.Pid}}' ${n}`)}/root`;
      sh(`mkdir ${r}/fill && for i in $(seq 300); do head -c 1048576 /dev/urandom > ${r}/fill/f$i; done`);
      const kib = Buffer.alloc(1024, 7);
      for (let d = 0; d < 100; d++) {
        fs.mkdirSync(`${r}/tree/d${d}`, {recursive: true});
        for (let f = 0; f < 100; f++) fs.writeFileSync(`${r}/tree/d${d}/f${f}`, kib);
      }
    }
    sh(`docker stop -t 0 ${down} > /dev/null`);
    const dbox = (line: string): Promise<unknown> => run(process.execPath, [dboxBin, '-c', line], {maxBuffer: 64 << 20});
    rows.push(await compare('stopped 300 MB container: ls -l / (whole process; native: the same of a running one)', {
      dbox: () => dbox(`ls -l /containers/${down}/`),
      native: () => dbox(`ls -l /containers/${up}/`),
    }));
    let n = 0;
    rows.push(await compare('stopped container: cp -r 10,000 × 1 KiB to the host (docker cp: its tar pipe)', {
      dbox: () => dbox(`cp -r /containers/${down}/tree ${dir}/t${++n}`),
      'docker cp': () => run('sh', ['-c', `mkdir ${dir}/t${++n} && docker cp ${down}:/tree - | tar -x -C ${dir}/t${n}`]),
    }, () => sh(`rm -rf ${dir}/t*`)));
  } finally {
    sh(`docker rm -f ${up} ${down} > /dev/null`);
    fs.rmSync(dir, {recursive: true, force: true});
  }
  print(rows);
}

/** The agent on a TLS engine and behind a shaped link. */
async function agentRemoteFigures(run: (cmd: string, args: string[], o?: object) => Promise<unknown>): Promise<void> {
  const {startRemoteEngine} = await import('../harness/remote-engine.js');
  const {startShapedEngine} = await import('../harness/shaped-link.js');
  const dboxBin = path.join(root, 'bin/dbox.js');
  const shq = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  const dbox = (line: string, env: NodeJS.ProcessEnv): Promise<unknown> =>
    run('sh', ['-c', `${process.execPath} ${dboxBin} -c ${shq(line)} > /dev/null`], {env: {...process.env, ...env}});
  const rows: Row[] = [];
  const remote = await startRemoteEngine();
  const c = 'bench-agent';
  try {
    const env = {DOCKER_HOST: remote.address, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: remote.certs, DOCKER_CONTEXT: ''};
    const tls = `--tlsverify --tlscacert ${remote.certs}/ca.pem --tlscert ${remote.certs}/cert.pem --tlskey ${remote.certs}/key.pem -H ${remote.address}`;
    sh(`docker save dbox-test/busybox | docker -H unix://${remote.socket} load -q > /dev/null`);
    remote.docker('run', '-d', '--network', 'none', '--name', c, 'dbox-test/busybox', 'sleep', '2147483647');
    remote.docker('exec', c, 'sh', '-c', 'head -c 268435456 /dev/urandom > /big; mkdir /many; cd /many; head -c 65536 /dev/urandom > f0; i=1; while [ $i -lt 1000 ]; do cp f0 f$i; i=$((i+1)); done');
    rows.push(await compare('agent, TLS engine: cat 256 MiB', {
      dbox: () => dbox(`cat /containers/${c}/big`, env),
      'docker cp': () => run('sh', ['-c', `docker ${tls} cp ${c}:/big - > /dev/null`]),
    }));
    rows.push(await compare('agent, TLS engine: ls -l of 1,000 entries, 64 MiB below (whole process; docker cp: their archive)', {
      dbox: () => dbox(`ls -l /containers/${c}/many`, env),
      'docker cp': () => run('sh', ['-c', `docker ${tls} cp ${c}:/many - > /dev/null`]),
      'docker exec': () => run('sh', ['-c', `docker ${tls} exec ${c} ls -l /many > /dev/null`]),
    }));
    // The same listing in a shell that runs (the session with the agent open): the listing itself.
    const {Namespace} = await import('../src/vfs/namespace.js');
    const {defaultEndpoint} = await import('../src/docker/endpoints.js');
    const ns = new Namespace(new Engine(defaultEndpoint(env)));
    await ns.readdir(`/containers/${c}/many`);
    rows.push(await compare('agent, TLS engine: a 1,000-entry listing in a running shell (docker cp: their archive)', {
      dbox: () => ns.readdir(`/containers/${c}/many`).then(() => ns.refresh()),
      'docker cp': () => run('sh', ['-c', `docker ${tls} cp ${c}:/many - > /dev/null`]),
    }));
  } finally {
    remote.stop();
  }
  const link = await startShapedEngine(10);
  const dir = fs.mkdtempSync('/tmp/dbox-bench-link-');
  try {
    const {remote: r, env} = link;
    sh(`docker save dbox-test/busybox | docker -H unix://${r.socket} load -q > /dev/null`);
    r.docker('run', '-d', '--network', 'none', '--name', c, 'dbox-test/busybox', 'sleep', '2147483647');
    r.docker('exec', c, 'sh', '-c', 'mkdir /many; cd /many; i=0; while [ $i -lt 1000 ]; do echo $i > f$i; i=$((i+1)); done');
    fs.mkdirSync(`${dir}/up`);
    for (let i = 0; i < 1000; i++) fs.writeFileSync(`${dir}/up/f${i}`, `${i}\n`);
    const docker = `DOCKER_HOST=${env['DOCKER_HOST']} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${env['DOCKER_CERT_PATH']} docker`;
    let n = 0;
    rows.push(await compare('agent, shaped link (10 ms each way): cp -r 1,000 small files container→host', {
      dbox: () => dbox(`cp -r /containers/${c}/many ${dir}/d${++n}`, env),
      'docker cp': () => run('sh', ['-c', `${docker} cp ${c}:/many ${dir}/d${++n}`]),
    }, () => sh(`rm -rf ${dir}/d*`)));
    rows.push(await compare('agent, shaped link: cp -r 1,000 small files host→container', {
      dbox: () => dbox(`cp -r ${dir}/up /containers/${c}/tmp/u${++n}`, env),
      'docker cp': () => run('sh', ['-c', `${docker} cp ${dir}/up ${c}:/tmp/u${++n}`]),
    }));
    rows.push(await compare('agent, shaped link: ls -l of 1,000 entries', {
      dbox: () => dbox(`ls -l /containers/${c}/many`, env),
      'docker exec': () => run('sh', ['-c', `${docker} exec ${c} ls -l /many > /dev/null`]),
    }));
  } finally {
    await link.stop();
    fs.rmSync(dir, {recursive: true, force: true});
  }
  print(rows);
}

function print(rows: readonly Row[]): void {
  const others = ['native', 'docker cp', 'docker exec', 'fuse-native'] as const;
  const label: Record<string, string> = {native: 'native /proc/<pid>/root', 'fuse-native': 'fuse-native alone'};
  const lines = [`| operation | dbox | ${others.map((o) => label[o] ?? o).join(' | ')} | ${others.map((o) => `dbox vs ${o}`).join(' | ')} |`,
    `| --- | --- | ${others.map(() => '---').join(' | ')} | ${others.map(() => '---').join(' | ')} |`];
  const ms = (v: number | undefined): string => (v === undefined ? '–' : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`);
  // >1 means dbox is faster: the other's time over dbox's.
  const ratio = (other: number | undefined, mine: number): string => (other === undefined ? '–' : `${(other / mine).toFixed(2)}×`);
  for (const r of rows) {
    const v = r.variants;
    const d = v['dbox']!;
    lines.push(`| ${r.what} | ${ms(d)} | ${others.map((o) => ms(v[o])).join(' | ')} | ${others.map((o) => ratio(v[o], d)).join(' | ')} |`);
  }
  const node = rows.find((r) => r.variants['node -e 0'] !== undefined)?.variants['node -e 0'];
  lines.push('', `Ratios are speed relative to dbox (other time ÷ dbox time; above 1× dbox is faster). Medians of ${ROUNDS} interleaved rounds` +
    (node !== undefined ? `; \`node -e 0\` took ${ms(node)}.` : '.'));
  process.stdout.write(lines.join('\n') + '\n');
}

await main();
