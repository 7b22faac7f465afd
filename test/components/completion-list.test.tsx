// The completion list and completion in the prompt with hostile names: nothing from a name acts on
// the terminal, wide names line up. Renders and keys go through React's act(), as Ink's own tests
// do, so no test waits on a clock.
import {act} from 'react';
import {render} from 'ink-testing-library';
import {describe, expect, it} from 'vitest';
import CompletionList from '../../components/CompletionList.js';
import Shell from '../../components/Shell.js';
import {complete, type Candidate, type Completion, type CompletionSource} from '../../src/shell/complete.js';
import {emptyEditor} from '../../src/shell/editor.js';
import {TerminalScreen} from '../../src/shell/terminal-screen.js';
import {Xterm} from './xterm.js';
import {textWidth} from '../../src/format/width.js';
import {hostileNames} from '../unit/hostile-names.js';

(globalThis as {IS_REACT_ACT_ENVIRONMENT?: boolean}).IS_REACT_ACT_ENVIRONMENT = true;

/** ESC, BEL, DEL, other C0 controls but \n, C1 controls: none may come from a name. */
const controls = /[\x00-\x09\x0b-\x1f\x7f\u0080-\u009f]/;
const withoutOurColours = (s: string): string => s.replace(/\x1b\[(?:[0-9]{1,2}(?:;[0-9]{1,2})*)?m/g, '');

async function rendered(element: React.ReactElement): Promise<ReturnType<typeof render>> {
  let r: ReturnType<typeof render> | undefined;
  await act(async () => {
    r = render(element);
  });
  return r!;
}

describe('CompletionList with hostile names', () => {
  const candidates: Candidate[] = hostileNames.map((n, i) => ({name: n.name, dir: i % 3 === 0, ...(i % 5 === 0 ? {state: 'running'} : {})}));

  it.each([false, true])('writes no control character from a name (colour %s)', async (color) => {
    const r = await rendered(<CompletionList candidates={candidates} width={100} color={color} />);
    const frame = r.lastFrame() ?? '';
    expect(frame.length).toBeGreaterThan(0);
    const m = controls.exec(withoutOurColours(frame));
    expect(m && JSON.stringify(withoutOurColours(frame).slice(Math.max(0, m.index - 20), m.index + 20))).toBe(null);
    expect(frame).toContain("''$'\\033'']0;pwned'$'\\a'"); // the window-title name, as ls shows it
    expect(frame).toContain("$'\\377'");
    r.unmount();
  });

  it('lines up wide names by their width on the terminal', async () => {
    const names = ['中文中文', 'ab', '日本語', 'x', 'ｆｕｌｌ', 'emoji😀', 'e\u0301e\u0301', 'plain'];
    const r = await rendered(<CompletionList candidates={names.map((name) => ({name, dir: false}))} width={30} color={false} />);
    const lines = (r.lastFrame() ?? '').split('\n');
    expect(lines.length).toBeGreaterThan(1);
    // Every cell of a column starts at the same terminal column.
    const starts = (line: string): number[] => {
      const out: number[] = [];
      let col = 0;
      let inCell = false;
      for (const seg of new Intl.Segmenter().segment(line)) {
        if (seg.segment !== ' ' && !inCell) out.push(col);
        inCell = seg.segment !== ' ';
        col += textWidth(seg.segment);
      }
      return out;
    };
    const first = starts(lines[0]!);
    for (const line of lines) expect(starts(line)).toEqual(first.slice(0, starts(line).length));
    for (const line of lines) expect(textWidth(line)).toBeLessThan(30);
    r.unmount();
  });
});

describe('Tab completion of hostile names in the prompt', () => {
  const name = (label: string): string => hostileNames.find((n) => n.label === label)!.name;
  const source = (names: string[]): CompletionSource => ({
    commands: async () => ['cat'],
    list: async () => names.map((n) => ({name: n, dir: false})),
  });

  async function typeTab(names: string[], typed: string): Promise<string> {
    let pending: Promise<Completion | undefined> = Promise.resolve(undefined);
    const completeAt = (line: string, cursor: number): Promise<Completion | undefined> =>
      (pending = complete(line, cursor, {cwd: '/c', home: '/root'}, source(names)));
    const r = await rendered(
      <Shell initial={emptyEditor()} prompt={() => '$ '} color={false} complete={completeAt} onDone={() => undefined} screen={new TerminalScreen(new Xterm(100, 24))} />,
    );
    await act(async () => {
      r.stdin.write(typed);
    });
    await act(async () => {
      r.stdin.write('\t');
      await pending;
    });
    const frame = r.lastFrame() ?? '';
    r.unmount();
    return frame;
  }

  it('inserts a control character as $\'\\ooo\', never raw', async () => {
    const frame = await typeTab([name('window title (OSC 0)')], 'cat ');
    expect(frame).toBe("$ cat $'\\033'\\]0\\;pwned$'\\007'"); // and a space (trimmed in the frame)
    expect(controls.test(frame)).toBe(false);
  });

  it('inserts C1 controls as $\'\\u0085\'', async () => {
    expect(await typeTab([name('C1 NEL')], 'cat ')).toBe("$ cat a$'\\u0085'b");
  });

  it('stops before an invalid byte, and a second Tab lists the name quoted', async () => {
    expect(await typeTab([name('byte FF inside')], 'cat ')).toBe('$ cat a');
  });

  it('completes a common prefix up to the first hostile character', async () => {
    expect(await typeTab(['ab\x1b[2Jx', 'ab\x1b[8my'], 'cat a')).toBe("$ cat ab$'\\033'\\[");
  });
});
