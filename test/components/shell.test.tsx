// The prompt as a person uses it, in-process: keys go into stdin, frames come out.
import {render} from 'ink-testing-library';
import {describe, expect, it, vi} from 'vitest';
import CompletionList from '../../components/CompletionList.js';
import EditLine from '../../components/EditLine.js';
import Shell, {type Done} from '../../components/Shell.js';
import {emptyEditor} from '../../src/shell/editor.js';
import type {Completion} from '../../src/shell/complete.js';

const tick = () => new Promise((r) => setTimeout(r, 20));
const plain = (s: string | undefined) => (s ?? '').replace(/\x1b\[[0-9;]*m/g, '');

function mount(opts: {history?: string[]; complete?: (line: string, cursor: number) => Promise<Completion | undefined>} = {}) {
  const done: Done[] = [];
  const r = render(
    <Shell initial={emptyEditor(opts.history ?? [])} prompt={() => 'dbox:/x$ '} color={false}
      complete={opts.complete ?? (async () => undefined)} onDone={(d) => done.push(d)} />,
  );
  const type = async (...chunks: string[]) => {
    for (const c of chunks) {
      r.stdin.write(c);
      await tick();
    }
  };
  return {...r, done, type};
}

describe('Shell', () => {
  it('shows the prompt and the line with the cursor, and edits it', async () => {
    const s = mount();
    await s.type('echo wrld', '\x1b[D', '\x1b[D', '\x1b[D', 'o');
    expect(plain(s.lastFrame())).toBe('dbox:/x$ echo world');
    await s.type('\x01', '\x0b');
    expect(plain(s.lastFrame())).toBe('dbox:/x$');
    s.unmount();
  });

  it('hands back the line on Enter, and EOF on Ctrl-D', async () => {
    const s = mount();
    await s.type('ls /containers', '\r');
    expect(s.done.map((d) => [d.kind, d.editor.text])).toEqual([['submit', 'ls /containers']]);
    expect(plain(s.lastFrame())).toBe('dbox:/x$ ls /containers');
    const e = mount();
    await e.type('\x04');
    expect(e.done.map((d) => d.kind)).toEqual(['eof']);
  });

  it('Ctrl-C keeps the line on screen with ^C', async () => {
    const s = mount();
    await s.type('half typed', '\x03');
    expect(s.done.map((d) => d.kind)).toEqual(['interrupt']);
    expect(plain(s.lastFrame())).toBe('dbox:/x$ half typed^C');
  });

  it('recalls history with Up and finds it with Ctrl-R', async () => {
    const s = mount({history: ['cat etc/hostname', 'ls -l']});
    await s.type('\x1b[A', '\x1b[A');
    expect(plain(s.lastFrame())).toBe('dbox:/x$ cat etc/hostname');
    const r = mount({history: ['cat etc/hostname', 'ls -l']});
    await r.type('\x12', 'host');
    expect(plain(r.lastFrame())).toBe("(reverse-i-search)`host': cat etc/hostname");
  });

  it('completes on Tab and lists the candidates on a second Tab', async () => {
    const candidates = [{name: 'web', dir: true, state: 'running'}, {name: 'db', dir: true, state: 'running'}];
    const complete = vi.fn(async (line: string, cursor: number): Promise<Completion> =>
      line.endsWith('/cont') ? {start: 3, end: cursor, insert: '/containers/', candidates: [{name: 'containers', dir: true}]}
        : {start: 3, end: cursor, insert: line.slice(3, cursor), candidates});
    const s = mount({complete});
    await s.type('cd /cont', '\t');
    expect(plain(s.lastFrame())).toBe('dbox:/x$ cd /containers/');
    await s.type('\t\t');
    expect(plain(s.lastFrame())).toBe('dbox:/x$ cd /containers/\nweb/  db/');
    await s.type('x');
    expect(plain(s.lastFrame())).toBe('dbox:/x$ cd /containers/x'); // the list goes away
  });

  it('drops a slow completion when the line changed meanwhile', async () => {
    let release: () => void = () => undefined;
    const complete = () => new Promise<Completion>((resolve) => {
      release = () => resolve({start: 0, end: 2, insert: 'later', candidates: [{name: 'later', dir: false}]});
    });
    const s = mount({complete});
    await s.type('ab', '\t', 'c'); // typing goes on while the lookup is pending
    release();
    await tick();
    expect(plain(s.lastFrame())).toBe('dbox:/x$ abc');
  });
});

describe('EditLine and CompletionList', () => {
  it('shows the prompt and the text', () => {
    const {lastFrame} = render(<EditLine prompt="$ " editor={{...emptyEditor(), text: 'abc', cursor: 1}} />);
    expect(lastFrame()).toBe('$ abc');
  });
  it('lays candidates out in columns, coloured like ls', () => {
    const {lastFrame} = render(<CompletionList width={40} color
      candidates={[{name: 'web', dir: true, state: 'running'}, {name: 'old', dir: true, state: 'exited'}, {name: 'notes.txt', dir: false, mode: 0o100755}]} />);
    expect(plain(lastFrame())).toBe('web/  old/  notes.txt');
    expect(lastFrame()).toContain('\x1b[32mweb'); // running: green
    expect(lastFrame()).toContain('\x1b[31mold'); // stopped: red
  });
});
