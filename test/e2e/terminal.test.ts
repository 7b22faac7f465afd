// The terminal between dbox and its jobs, in a real terminal (tmux), typed as a person types:
// each key goes in once what it answers is on the screen. Full-screen programs and keystrokes
// (vim, less, docker exec -it, attach), Ctrl-C in a builtin, in a program and at the prompt,
// Ctrl-Z/jobs/fg, background jobs, a terminal read ended by Ctrl-D, output without a final
// newline, a program killed from outside, the mount killed from outside, a walk of 100,000 files.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from '../integration/engine.js';
import {Terminal} from './tmux.js';
import {until} from '../integration/wait.js';

const hasEngine = requireEngine();
const p = `t${process.pid}`;

describe.runIf(hasEngine)('the terminal between dbox and its jobs (tmux)', () => {
  let fixture: Fixture;
  let c: string;
  let home: string;
  let term: Terminal;
  let prompt: RegExp;

  /** Types a line at the prompt (waiting for the prompt first) and presses Enter. */
  const line = async (text: string): Promise<void> => {
    await term.waitFor(new RegExp(`${prompt.source} ?$`, 'm'));
    await term.waitForEditor();
    term.text(text);
    await term.waitFor(new RegExp(`${escape(text.slice(-20))}$`, 'm'));
    term.keys('Enter');
  };
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  /** Waits until a process whose command line matches runs in the terminal's foreground (ps marks
   *  it "+"): a person sees the command start before pressing Ctrl-C. */
  const foreground = async (pattern: string): Promise<void> => {
    const end = Date.now() + 30_000;
    for (;;) {
      const pids = spawnSync('pgrep', ['-f', pattern], {encoding: 'utf8'}).stdout.trim().split('\n').filter(Boolean);
      if (pids.some((pid) => spawnSync('ps', ['-o', 'stat=', '-p', pid], {encoding: 'utf8'}).stdout.includes('+'))) return;
      if (Date.now() > end) throw new Error(`${pattern} never ran in the foreground`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  /** The mount works: an external command reads a container file. */
  const mountWorks = async (): Promise<void> => {
    await line(`grep -c root /containers/${c}/etc/passwd`);
    await term.waitFor(/^1\n.*\$ ?$/m);
  };

  beforeAll(() => {
    fixture = makeFixture('term', {'etc/motd': 'welcome\n', 'data/long.txt': Array.from({length: 300}, (_, i) => `row ${i}`).join('\n') + '\n'});
    c = fixture.run(`${p}c`);
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-home-'));
    fs.writeFileSync(path.join(home, '.bashrc'), "alias ll='ls -l'\nexport FROM_BASHRC=yes\n");
    term = Terminal.start(`dbox-${p}`, `cd ${home} && HOME=${home} XDG_STATE_HOME=${home}/state ${process.execPath} ${dboxPath}; echo "EXIT=$?"; sleep 600`);
    prompt = /dbox:[^\n]*\$/;
  });
  afterAll(() => {
    term?.kill();
    fixture?.cleanup();
    fs.rmSync(home, {recursive: true, force: true});
  });

  it("reads ~/.bashrc and keeps bash's state from line to line", async () => {
    await line('echo $FROM_BASHRC; X=1; export Y=2; cd /tmp');
    await term.waitFor(/^yes\ndbox:\/tmp\$ ?$/m);
    await line('echo $X $Y $OLDPWD; cd -');
    await term.waitFor(new RegExp(`^1 2 ${escape(home)}\\n${escape(home)}\\ndbox:~\\$ ?$`, 'm'));
    await line('type -t ll ls cd');
    await term.waitFor(/^alias\nfunction\nbuiltin\n/m);
    await line('false');
    await line('echo status $? !!');
    await term.waitFor(/\$ echo status \$\? !!\necho status \$\? false\nstatus 1 false\n/m);
  });

  it('vim edits and saves a container file; its keys never reach dbox', async () => {
    await line(`vim -u NONE -N /containers/${c}/etc/motd`);
    await term.waitFor(/^welcome\n/m);
    term.keys('G', 'o');
    await term.waitFor(/-- INSERT --/);
    term.text('typed into vim');
    await term.waitFor(/^typed into vim$/m);
    term.keys('Escape');
    await term.waitFor(/^typed into vim\n(~?\n)*\s*$/m);
    term.text(':wq');
    term.keys('Enter');
    await term.waitFor(new RegExp(`${prompt.source} ?$`, 'm'));
    expect(docker('exec', c, 'cat', '/etc/motd')).toBe('welcome\ntyped into vim');
    // Nothing typed into vim was taken by dbox: the next line is empty, and the history has no vim keys.
    await line('echo next');
    await term.waitFor(/^next\n/m);
    expect(fs.readFileSync(path.join(home, 'state/dbox/history'), 'utf8')).not.toMatch(/typed into vim|wq/);
  });

  it('vim killed from outside: the prompt comes back at once, without a key', async () => {
    await line('clear');
    await line(`vim -u NONE -N /containers/${c}/data/long.txt`);
    await term.waitFor(/^row 0$/m);
    const vim = execFileSync('pgrep', ['-f', `^vim -u NONE -N /containers/${c}/data/long.txt`], {encoding: 'utf8'}).trim().split('\n')[0]!;
    process.kill(Number(vim), 'SIGKILL');
    await term.waitFor(new RegExp(`${prompt.source} ?$`, 'm'));
    await line('echo alive');
    await term.waitFor(/^alive$/m);
  });

  it('less pages a container file and quits with q', async () => {
    await line('clear');
    await line(`less /containers/${c}/data/long.txt`);
    await term.waitFor(/^row 0$/m);
    term.keys('G');
    await term.waitFor(/^row 299$/m);
    term.keys('q');
    await line('echo after-less');
    await term.waitFor(/^after-less$/m);
  });

  it('head -n 1 reads the terminal; the rest of what is typed stays for the prompt', async () => {
    await line('head -n 1');
    await foreground('^head -n 1$');
    term.text('first typed');
    term.keys('Enter');
    await term.waitFor(/^first typed\nfirst typed\n/m);
    await line('echo done-head');
    await term.waitFor(/^done-head$/m);
  });

  it('cat reading the terminal ends with Ctrl-D, and the shell goes on', async () => {
    await line('cat');
    await foreground('/[0-9]+/dbox cat$');
    term.text('to cat');
    term.keys('Enter');
    await term.waitFor(/^to cat\nto cat\n/m);
    term.keys('C-d');
    await line('echo after-cat $?');
    await term.waitFor(/^after-cat 0$/m);
  });

  it('docker exec -it gets the keystrokes', async () => {
    await line(`docker exec -it ${c} sh`);
    await term.waitFor(/^\/ # ?$/m);
    term.text('echo in-$((6*7))');
    term.keys('Enter');
    await term.waitFor(/^in-42$/m);
    term.text('exit');
    term.keys('Enter');
    await line('echo back');
    await term.waitFor(/^back$/m);
  });

  it('attach at the prompt: a shell in the container with the toolbox, then back', async () => {
    await line(`attach ${c}`);
    await term.waitFor(/^\/ # ?$/m);
    term.text('ls /.dbox/bin | wc -l');
    term.keys('Enter');
    await term.waitFor(/^\d{2,}$/m);
    term.text('exit');
    term.keys('Enter');
    await line('echo after-attach $?');
    await term.waitFor(/^after-attach 0$/m);
  });

  it('Ctrl-C in a builtin, in a program and at the prompt; the mount works after each', async () => {
    // A builtin blocked on its stdin.
    await line('sleep 1000 | cat');
    await foreground('/[0-9]+/dbox cat$');
    term.keys('C-c');
    await term.waitFor(/\[130\]\$ ?$/m);
    await mountWorks();
    // A program.
    await line('sleep 1000; echo not-reached');
    await foreground('^sleep 1000$');
    term.keys('C-c');
    await term.waitFor(/\[130\]\$ ?$/m);
    expect(term.screen()).not.toMatch(/^not-reached$/m);
    await mountWorks();
    // The prompt.
    await term.waitFor(new RegExp(`${prompt.source} ?$`, 'm'));
    term.text('half a line');
    term.keys('C-c');
    await term.waitFor(/half a line\^C\n.*\[130\]\$ ?$/m);
    await mountWorks();
  });

  it('Ctrl-Z stops a job, jobs lists it, fg brings it back; & runs one in the background', async () => {
    await line('clear');
    await line('sleep 1000');
    await foreground('^sleep 1000$');
    term.keys('C-z');
    await term.waitFor(/^\[1\]\+ +Stopped +sleep 1000\n.*\[148\]\$ ?$/m);
    await line('jobs');
    await term.waitFor(/\$ jobs\n\[1\]\+ +Stopped +sleep 1000$/m);
    await line('fg');
    await term.waitFor(/\$ fg\nsleep 1000\n$/m);
    await foreground('^sleep 1000$');
    term.keys('C-c');
    await term.waitFor(/\[130\]\$ ?$/m);
    await line('sleep 1000 &');
    await term.waitFor(/^\[1\] \d+$/m);
    await line('jobs; kill %1');
    await term.waitFor(/^\[1\]\+ +Running +sleep 1000 &$/m);
    await line('wait; echo waited');
    await term.waitFor(/^waited$/m);
  });

  it("Ctrl-Z stops a builtin too: its output pauses until fg, then Ctrl-C ends it", async () => {
    await line('clear');
    await line('yes | cat');
    await foreground('/[0-9]+/dbox cat$');
    await term.waitFor(/^y\ny\n/m);
    term.keys('C-z');
    await term.waitFor(/^\[1\]\+ +Stopped +yes \| cat\n.*\[148\]\$ ?$/m);
    // Stopped, and nothing of it reaches the terminal any more: two lines later, no "y" between them.
    const client = execFileSync('pgrep', ['-f', '/[0-9]+/dbox cat$'], {encoding: 'utf8'}).trim();
    expect(execFileSync('ps', ['-o', 'stat=', '-p', client], {encoding: 'utf8'})).toMatch(/^T/);
    await line('echo paused');
    await line('echo still');
    await term.waitFor(/^paused\ndbox:[^\n]*\$ echo still\nstill\ndbox:[^\n]*\$ ?$/m);
    await line('fg');
    await foreground('/[0-9]+/dbox cat$');
    // Its output flows again: the screen ends in its lines, not in a prompt.
    await term.waitFor(/(^y\n){20}\s*$/m);
    term.keys('C-c');
    await term.waitFor(/\[130\]\$ ?$/m);
  });

  it('output without a final newline keeps its line, marked, and the prompt goes below', async () => {
    await line('printf abc');
    await term.waitFor(/^abc%\ndbox:[^\n]*\$ ?$/m);
    await line('echo whole');
    await term.waitFor(/^whole\ndbox:[^\n]*\$ ?$/m);
  });

  it('the mount killed from outside is started again, with a one-line notice', async () => {
    await mountWorks();
    const dbox = execFileSync('pgrep', ['-f', `^${process.execPath} ${dboxPath}$`], {encoding: 'utf8'}).trim().split('\n');
    const mount = dbox.map((d) => spawnSync('pgrep', ['-P', d, '-f', 'mount /containers --foreground'], {encoding: 'utf8'}).stdout.trim()).find(Boolean)!;
    process.kill(Number(mount), 'SIGKILL');
    await line('echo next-line');
    await term.waitFor(/^dbox: the mount of \/containers stopped \(killed by SIGKILL\); started it again/m);
    await mountWorks();
  });

  it('find walks 100,000 files through the mount, and grep still works after', async () => {
    docker('exec', c, '/bin/busybox', 'sh', '-c',
      'mkdir -p /many && cd /many && for d in $(busybox seq 100); do mkdir d$d && (cd d$d && busybox seq 1000 | busybox xargs busybox touch); done');
    await line('clear');
    await line(`find /containers/${c}/many 2>&1 | tail -3`);
    const screen = await term.waitFor(/\| tail -3\n(.*\n){0,3}dbox:[^\n]*\$ ?$/m, 300_000);
    // Every entry found (100 directories of 1,000 files, and the top), and no error on the way.
    expect(screen).toMatch(new RegExp(`^/containers/${c}/many/d\\d+/\\d+\\n(.*\\n)*dbox:`, 'm'));
    expect(screen).not.toMatch(/Too many open files|Input\/output error|Transport endpoint/);
    await line(`find /containers/${c}/many | wc -l`);
    await term.waitFor(/^100101$/m, 300_000);
    await mountWorks();
  }, 400_000);

  it('exit leaves with its status', async () => {
    await line('exit 3');
    await term.waitFor(/^EXIT=3$/m);
  });

  it('the terminal closed while a loop of builtins runs: dbox ends, its bash and its mount with it', async () => {
    const other = Terminal.start(`dbox-hup-${p}`, `cd ${home} && HOME=${home} XDG_STATE_HOME=${home}/state exec ${process.execPath} ${dboxPath}`);
    try {
      await other.waitFor(/dbox:[^\n]*\$ ?$/m);
      await other.waitForEditor();
      other.text(`while true; do cat /containers/${c}/etc/motd > /dev/null; done`);
      other.keys('Enter');
      const pid = Number(spawnSync('tmux', ['display', '-p', '-t', other.name, '#{pane_pid}'], {encoding: 'utf8'}).stdout.trim());
      const looping = (): boolean => spawnSync('pgrep', ['-f', `/${pid}/dbox cat /containers/${c}/etc/motd$`]).status === 0;
      await until('the loop of builtins to run', looping, 30_000, 5);
      other.kill(); // the terminal goes away: the hangup reaches the loop's job, not dbox
      const alive = (): boolean => spawnSync('kill', ['-0', String(pid)]).status === 0;
      await until('dbox to end after its terminal closed', () => !alive(), 30_000);
      expect(alive(), 'dbox still runs after its terminal closed').toBe(false);
    } finally {
      other.kill();
    }
  });
});
