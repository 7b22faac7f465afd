// The interactive shell through a real pseudo-terminal, typed as a person types.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from '../integration/engine.js';
import {parseHistory} from '../../src/shell/history-file.js';
import {Terminal} from './tmux.js';

const hasEngine = requireEngine();
const p = `e${process.pid}`;

describe.runIf(hasEngine)('interactive shell (tmux)', () => {
  let fixture: Fixture;
  let web: string;
  let home: string;
  let term: Terminal;
  const start = (extra = ''): Terminal =>
    Terminal.start(`dbox-${p}`, `cd ${home} && HOME=${home} XDG_STATE_HOME=${home}/state ${process.execPath} ${dboxPath}; echo "EXIT=$?"; sleep 30`);

  beforeAll(() => {
    fixture = makeFixture('e2e', {'data/lines.txt': Array.from({length: 10_000}, (_, i) => `line ${i}`).join('\n') + '\n'});
    web = `${p}web`;
    docker('run', '-d', '--network', 'none', '--name', web, '--hostname', 'webhost', fixture.tag, 'sleep', '2147483647');
    fixture.containers.push(web);
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-home-'));
  });
  afterAll(() => {
    term?.kill();
    fixture?.cleanup();
    fs.rmSync(home, {recursive: true, force: true});
  });

  it('completes, cds, lists, cats, recalls with Up and finds with Ctrl-R', async () => {
    term = start();
    await term.waitFor(/dbox:~\$/);
    term.text('cd /cont');
    term.keys('Tab');
    await term.waitFor(/dbox:~\$ cd \/containers\/$/m);
    term.text(`${p}we`);
    term.keys('Tab');
    await term.waitFor(new RegExp(`cd /containers/${web}/$`, 'm'));
    term.keys('Enter');
    await term.waitFor(new RegExp(`^dbox:/containers/${web}\\$ ?$`, 'm'));
    term.text('ls');
    term.keys('Enter');
    await term.waitFor(/bin\s+data\s+dev\s+etc/);
    term.text('cat etc/hostname');
    term.keys('Enter');
    await term.waitFor(/^webhost$/m);
    term.keys('Up');
    await term.waitFor(new RegExp(`dbox:/containers/${web}\\$ cat etc/hostname$`, 'm'));
    term.keys('C-u', 'C-r');
    term.text('ls');
    await term.waitFor(/\(reverse-i-search\)`ls': ls$/m);
    term.keys('C-g', 'C-r');
    term.text('host');
    await term.waitFor(/`host': cat etc\/hostname$/m);
    term.keys('Enter');
    await term.waitFor(/^webhost\n(.*\n)*webhost$/m);
    expect(parseHistory(fs.readFileSync(path.join(home, 'state/dbox/history'), 'utf8'))).toEqual([`cd /containers/${web}/`, 'ls', 'cat etc/hostname']);
  });

  it('a container started elsewhere appears in completion without restarting', async () => {
    const late = `${p}late`;
    docker('run', '-d', '--network', 'none', '--name', late, fixture.tag, 'sleep', '2147483647');
    fixture.containers.push(late);
    term.text(`ls /containers/${p}l`);
    term.keys('Tab');
    await term.waitFor(new RegExp(`ls /containers/${late}/$`, 'm'));
    term.keys('C-u');
  });

  it('shows the candidates on a second Tab, running first, and Ctrl-C clears the line', async () => {
    term.text(`cd /containers/${p}`);
    term.keys('Tab', 'Tab');
    await term.waitFor(new RegExp(`^${p}late/\\s+${web}/`, 'm')); // both running: by name
    term.keys('C-c');
    await term.waitFor(new RegExp(`cd /containers/${p}\\^C\\n.*\\[130\\]\\$ ?$`, 'm'));
  });

  it('re-lays out the candidate list when the terminal is resized', async () => {
    term.text(`ls /containers/${web}/bin/`);
    term.keys('Tab', 'Tab');
    const wide = await term.waitFor(/^busybox\s+\S/m);
    const rows = (s: string) => s.trimEnd().split('\n').filter((l) => /^(busybox|cat|chmod|chown|dd|echo|find|ln|ls|mkdir|mv|readlink|rm|sh|sha256sum|sleep|stat|touch)\b/.test(l)).length;
    term.resize(30);
    // Narrower: the same candidates take more rows.
    await term.waitFor(/^true$/, 10_000, () => String(rows(term.screen()) > rows(wide)));
    term.resize(120);
    term.keys('C-u');
  });

  it('a 10,000-line cat scrolls in the terminal, and the prompt comes back at once', async () => {
    term.text('cat /containers/' + web + '/data/lines.txt');
    term.keys('Enter');
    await term.waitFor(/^line 9999\n.*\$ ?$/m);
  });

  it('cp of a 200 MiB file shows progress; Ctrl-C leaves no partial file', async () => {
    const big = fixture.run('big');
    docker('exec', big, 'dd', 'if=/dev/zero', 'of=/big', 'bs=1M', 'count=200');
    docker('stop', '-t', '0', big); // a stopped container: the copy streams through the engine, slowly enough to watch
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-cpdest-'));
    try {
      term.text(`cp /containers/${big}/big ${dest}/`);
      term.keys('Enter');
      await term.waitFor(/\[#*-*\] +\d+%  [\d.]+ (?:[KMG]i)?B \/ 200 MiB/);
      term.keys('C-c');
      // bash prints a newline after a job killed by SIGINT (the kernel printed ^C without one).
      await term.waitFor(/cp: interrupted; nothing was left at the destination\n\n?.*\[130\]\$ ?$/m);
      expect(fs.readdirSync(dest)).toEqual([]);
    } finally {
      fs.rmSync(dest, {recursive: true, force: true});
    }
  });

  it('says so when the container it is in disappears, and stays usable', async () => {
    const gone = fixture.run('gone');
    term.text(`cd /containers/${gone}`);
    term.keys('Enter');
    await term.waitFor(new RegExp(`dbox:/containers/${gone}\\$ ?$`, 'm'));
    docker('rm', '-f', gone);
    await term.waitFor(new RegExp(`dbox: container '${gone}' was removed; now in /containers\\ndbox:/containers\\$ ?$`, 'm'));
    term.text('pwd');
    term.keys('Enter');
    await term.waitFor(/^\/containers$/m);
  });

  it('exit N leaves with N; Ctrl-D on an empty line exits', async () => {
    term.text('exit 3');
    term.keys('Enter');
    await term.waitFor(/^EXIT=3$/m);
    term.kill();
    term = start();
    await term.waitFor(/dbox:~\$/);
    await term.waitForEditor();
    term.keys('C-d');
    await term.waitFor(/^exit\nEXIT=0$/m);
  });
});
