import {describe, expect, it} from 'vitest';
import {afterSubmit, edit, emptyEditor, type EditorState} from '../../src/shell/editor.js';
import {parseKeys} from '../../src/shell/keys.js';

/** Types raw terminal input into the editor, one key chunk at a time. */
function type(state: EditorState, ...chunks: string[]): {state: EditorState; intents: string[]} {
  const intents: string[] = [];
  for (const chunk of chunks) {
    for (const key of parseKeys(chunk)) {
      const r = edit(state, key);
      state = r.state;
      if (r.intent) intents.push(r.intent);
    }
  }
  return {state, intents};
}
const line = (...chunks: string[]) => {
  const {state} = type(emptyEditor(), ...chunks);
  return `${state.text.slice(0, state.cursor)}|${state.text.slice(state.cursor)}`;
};

describe('parseKeys', () => {
  it('separates text, control keys and escape sequences', () => {
    const keys = (data: string) => parseKeys(data).map(({seq: _s, ...k}) => k);
    expect(keys('ab\x1b[Dc\r')).toEqual([{kind: 'text', text: 'ab'}, {kind: 'left'}, {kind: 'text', text: 'c'}, {kind: 'enter'}]);
    expect(keys('\x7f')).toEqual([{kind: 'backspace'}]);
    expect(keys('\x1b[3~')).toEqual([{kind: 'delete'}]);
    expect(keys('\x01')).toEqual([{kind: 'ctrl', key: 'a'}]);
    expect(keys('\x1f')).toEqual([{kind: 'ctrl', key: '_'}]);
    expect(keys('\x1bb')).toEqual([{kind: 'alt', key: 'b'}]);
    expect(keys('\x1b.')).toEqual([{kind: 'alt', key: '.'}]);
    expect(keys('\x1b\x7f')).toEqual([{kind: 'alt-backspace'}]);
    expect(parseKeys('a\x1b[Db').map((k) => k.seq).join('')).toBe('a\x1b[Db'); // every key keeps its bytes
  });
});

describe('line editing (readline bindings)', () => {
  it.each([
    [['abc', '\x1b[D', '\x1b[D', 'X'], 'aX|bc'],
    [['abc', '\x01', 'X'], 'X|abc'], // Ctrl-A
    [['abc', '\x01', '\x05', 'X'], 'abcX|'], // Ctrl-E
    [['abc', '\x02', '\x06', 'X'], 'abcX|'], // Ctrl-B, Ctrl-F
    [['abc', '\x1b[H', '\x1b[F'], 'abc|'], // Home, End
    [['abc', '\x7f'], 'ab|'], // Backspace
    [['abc', '\x01', '\x1b[3~'], '|bc'], // Delete
    [['abc', '\x01', '\x04'], '|bc'], // Ctrl-D deletes on a non-empty line
    [['one two three', '\x1bb'], 'one two |three'], // Alt-B
    [['one two three', '\x01', '\x1bf'], 'one| two three'], // Alt-F
    [['one two', '\x1b\x7f'], 'one |'], // Alt-Backspace
    [['ls /a/b c', '\x17'], 'ls /a/b |'], // Ctrl-W kills the previous blank-separated word
    [['abc def', '\x1bb', '\x0b'], 'abc |'], // Ctrl-K
    [['abc def', '\x1bb', '\x15'], '|def'], // Ctrl-U
    [['abc def', '\x17', '\x01', '\x19'], 'def|abc '], // Ctrl-Y yanks what was killed
    [['日本語', '\x1b[D', 'x'], '日本x|語'], // wide characters
    [['e\u0301a', '\x1b[D', '\x1b[D', 'x'], 'x|e\u0301a'], // a combining accent is one step
    [['👍🏽b', '\x1b[D', '\x7f'], '|b'], // an emoji with a skin tone is one grapheme
  ])('%j -> %s', (chunks, expected) => expect(line(...chunks)).toBe(expected));

  it('Enter submits, Tab completes, Ctrl-L clears, Ctrl-C interrupts and clears, Ctrl-D on an empty line is EOF', () => {
    expect(type(emptyEditor(), 'ls', '\r').intents).toEqual(['submit']);
    expect(type(emptyEditor(), 'ls', '\t').intents).toEqual(['complete']);
    expect(type(emptyEditor(), '\x0c').intents).toEqual(['clear-screen']);
    const c = type(emptyEditor(), 'abc', '\x03');
    expect([c.state.text, c.intents]).toEqual(['', ['interrupt']]);
    expect(type(emptyEditor(), '\x04').intents).toEqual(['eof']);
  });
});

describe('history', () => {
  const h = emptyEditor(['ls /containers', 'cd /containers/web', 'cat etc/hostname']);
  it('Up and Down walk history and come back to the draft', () => {
    expect(type(h, 'dra', '\x1b[A').state.text).toBe('cat etc/hostname');
    expect(type(h, 'dra', '\x1b[A', '\x1b[A', '\x1b[A', '\x1b[A').state.text).toBe('ls /containers');
    expect(type(h, 'dra', '\x1b[A', '\x1b[A', '\x1b[B', '\x1b[B').state.text).toBe('dra');
  });
  it('Ctrl-R finds the newest match, again finds older ones, Enter runs it', () => {
    const found = type(h, '\x12', 'con');
    expect(found.state.search).toEqual({query: 'con', match: 1});
    expect(type(h, '\x12', 'con', '\x12').state.search?.match).toBe(0);
    const run = type(h, '\x12', 'web', '\r');
    expect([run.state.text, run.intents]).toEqual(['cd /containers/web', ['submit']]);
    expect(type(h, '\x12', 'web', '\x07').state.text).toBe(''); // Ctrl-G cancels
    const moved = type(h, '\x12', 'web', '\x1b[C').state; // a movement key accepts the match for editing
    expect([moved.text, moved.search]).toEqual(['cd /containers/web', undefined]);
  });
  it('keeps no duplicate in a row, and is bounded', () => {
    let s = type(h, 'cat etc/hostname').state;
    expect(afterSubmit(s).history).toHaveLength(3);
    s = type(emptyEditor(['a', 'b', 'c']), 'd').state;
    expect(afterSubmit(s, 3).history).toEqual(['b', 'c', 'd']);
    expect(afterSubmit(type(h, '  ').state).history).toHaveLength(3);
  });
});

