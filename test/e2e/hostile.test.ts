// The interactive shell in a real terminal (tmux) against a container full of hostile names: the
// terminal's own state is the witness. A name that got through raw would retitle the pane (OSC 0/2),
// fill a tmux paste buffer (OSC 52, the clipboard) or conceal text (SGR 8); none may.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from '../integration/engine.js';
import {Terminal} from './tmux.js';

const hasEngine = requireEngine();
const p = `h${process.pid}`;

const tmux = (...args: string[]): string => execFileSync('tmux', args, {encoding: 'utf8'});

describe.runIf(hasEngine)('hostile names in the interactive shell (tmux)', () => {
  let fixture: Fixture;
  let c: string;
  let home: string;
  let term: Terminal;
  let title: string;
  let buffers: string;
  let clipboard: string | undefined;

  beforeAll(async () => {
    fixture = makeFixture('hostile-e2e');
    c = fixture.run('h');
    docker('exec', c, 'sh', '-c', [
      'mkdir -p /data/h && cd /data/h',
      `mkdir "zz$(printf '\\033]2;pwned\\007')"`, // cd-able: the prompt shows it
      `touch "$(printf '\\033]0;retitled\\007')" "$(printf '\\033]52;c;cm0gLXJmIH4K\\007')" "$(printf 'a\\033[8mhidden')"`,
      `touch "$(printf '\\033[2J\\033[Hcleared')" "$(printf 'c1\\302\\233\\062J')" "$(printf 'bell\\007')"`,
      `ln -s "$(printf '\\033]2;linked\\007')" link`,
    ].join(' && '));
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-home-'));
    term = Terminal.start(`dbox-${p}`,
      `cd ${home} && HOME=${home} XDG_STATE_HOME=${home}/state ${process.execPath} ${dboxPath}; echo "EXIT=$?"; sleep 30`);
    await term.waitFor(/dbox:~\$/);
    // With set-clipboard on, tmux keeps an OSC 52 write as a paste buffer (restored afterwards)
    clipboard = tmux('show-options', '-s', '-v', 'set-clipboard').trim();
    tmux('set-option', '-s', 'set-clipboard', 'on');
    title = tmux('display-message', '-p', '-t', term.name, '#{pane_title}');
    buffers = spawnSync('tmux', ['list-buffers'], {encoding: 'utf8'}).stdout;
  });
  afterAll(() => {
    if (clipboard) tmux('set-option', '-s', 'set-clipboard', clipboard);
    term?.kill();
    fixture?.cleanup();
    if (home) fs.rmSync(home, {recursive: true, force: true});
  });

  const untouched = (): void => {
    expect(tmux('display-message', '-p', '-t', term.name, '#{pane_title}')).toBe(title);
    expect(spawnSync('tmux', ['list-buffers'], {encoding: 'utf8'}).stdout).toBe(buffers);
    const attributes = tmux('capture-pane', '-e', '-p', '-t', term.name, '-S', '-200');
    expect(attributes).not.toMatch(/\x1b\[[0-9;]*\b8m/); // nothing concealed
    expect(term.screen()).toContain('dbox:');
  };

  it('ls and ls -l show the names quoted, and the terminal keeps its title, clipboard and text', async () => {
    term.text(`ls /containers/${c}/data/h`);
    term.keys('Enter');
    await term.waitFor(/''\$'\\033'']0;retitled'\$'\\a'/);
    term.text(`ls -l /containers/${c}/data/h`);
    term.keys('Enter');
    await term.waitFor(/link -> ''\$'\\033'']2;linked'\$'\\a'/);
    expect(term.screen()).toContain("'a'$'\\033''[8mhidden'");
    untouched();
  });

  it('Tab completes a hostile directory without raw bytes, and the prompt escapes it', async () => {
    term.text(`cd /containers/${c}/data/h/zz`);
    term.keys('Tab');
    await term.waitFor(/cd \/containers\/\S+\/data\/h\/zz\$'\\033'\\\]2\\;pwned\$'\\007'\/$/m);
    term.keys('Enter');
    await term.waitFor(new RegExp(`^dbox:/containers/${c}/data/h/zz\\\\033]2;pwned\\\\a\\$ ?$`, 'm'));
    // bash is in it. (Its `pwd` prints the name raw, as bash does anywhere: the check asks for it quoted.)
    term.text('printf "%q\\n" "$PWD"');
    term.keys('Enter');
    await term.waitFor(new RegExp(`^\\$'/containers/${c}/data/h/zz\\\\E\\]2;pwned\\\\a'$`, 'm'));
    untouched();
  });

  it('a second Tab lists the candidates quoted', async () => {
    term.text('cd ..');
    term.keys('Enter');
    term.text('cat ');
    term.keys('Tab', 'Tab');
    await term.waitFor(/''\$'\\033'']52;c;cm0gLXJmIH4K'\$'\\a'/);
    term.keys('C-u');
    untouched();
  });

  it('an error message about a hostile name is quoted', async () => {
    term.text("cat $'\\033]2;nope\\007'");
    term.keys('Enter');
    await term.waitFor(/^cat: ''\$'\\033'']2;nope'\$'\\a': No such file or directory$/m);
    untouched();
  });
});
