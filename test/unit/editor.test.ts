import {describe, expect, it} from 'vitest';
import {afterSubmit, edit, emptyEditor, historyWords, remember, type EditorState} from '../../src/shell/editor.js';
import {historyPolicy} from '../../src/shell/history-file.js';
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


describe('readline keys beyond the basics (the same as bash 5.2: test/e2e/readline-diff.test.ts)', () => {
  const h = ['echo "a b" c > out', 'echo one two three', 'ls -d x y'];
  const at = (chunks: string[], history: string[] = h) => {
    const {state} = type(emptyEditor(history), ...chunks);
    return `${state.text.slice(0, state.cursor)}|${state.text.slice(state.cursor)}`;
  };
  it.each([
    [['abcd', '\x14'], 'abdc|'], // Ctrl-T at the end
    [['abcd', '\x1b[D', '\x1b[D', '\x14'], 'acb|d'],
    [['abcd', '\x01', '\x14'], '|abcd'], // nothing before the cursor: nothing happens
    [['ab日本', '\x1b[D', '\x14'], 'ab本日|'],
    [['abc def', '\x1f'], '|'], // Ctrl-_: typed text is one step (up to 20 characters)
    [['a', 'b', 'c', ' ', 'd', '\x1f'], '|'],
    [['abcdefghijklmnopqrstuvwxyz', '\x1f'], '|'],
    [[...'abcdefghijklmnopqrstuvwxy'.split(''), '\x1f'], 'abcdefghijklmnopqrst|'], // 20 a step, typed one by one
    [['abc def', '\x17', '\x1f'], 'abc def|'],
    [['abc', '\x01', 'xy', '\x1f'], '|abc'],
    [['abcd', '\x1b[D', '\x14', '\x1f'], 'abc|d'],
    [['abc def', '\x18\x15'], '|'], // Ctrl-X Ctrl-U
    [['\x1b.'], 'y|'],
    [['\x1b.', '\x1b.'], 'three|'],
    [['\x1b.', '\x1b.', '\x1b.'], 'out|'],
    [['\x1b.', '\x1b.', '\x1b.', '\x1b.'], '|'], // no older line: what the last one inserted goes too
    [['\x1b1', '\x1b.'], '-d|'],
    [['\x1b0', '\x1b.'], 'ls|'],
    [['\x1b1', '\x1b.', '\x1b.'], 'one|'],
    [['\x1b1', '\x1b.', '\x1b.', '\x1b.'], '"a b"|'],
    [['x ', '\x1b_'], 'x y|'],
    [['one two three', '\x1bt'], 'one three two|'],
    [['one two three', '\x1bb', '\x1bb', '\x1bt'], 'two one| three'],
    [['hello wORLD', '\x1bb', '\x1bc'], 'hello World|'],
    [['hello wORLD', '\x1bb', '\x1bb', '\x1bu'], 'HELLO| wORLD'],
    [['HELLO World', '\x1bb', '\x1bb', '\x1bl'], 'hello| World'],
    [['foo_bar', '\x1bb'], 'foo_|bar'], // `_` ends a word, as in readline
    [['ab/cd.ef gh', '\x01', '\x1bd'], '|/cd.ef gh'],
    [['ab cd', '\x1b[1;5D'], 'ab |cd'],
    [['ab', '\x16', '\x03', 'd'], 'ab\x03d|'], // Ctrl-V: the next key as typed
    [['abc', '\x16', '\t', 'd'], 'abc\td|'],
    [['abcdef', '\x1b3', '\x1b[D'], 'abc|def'], // Alt-3 Left
    [['\x1b[A', '\x17', 'zz', '\x1br'], 'ls -d x y|'], // Alt-R: every change undone
    [['echo !! !$ ^x^y'], 'echo !! !$ ^x^y|'],
    // the kill ring: kills in a row are one entry; Alt-Y after Ctrl-Y takes the entry before
    [['abc def ghi', '\x17', '\x17', '\x19'], 'abc def ghi|'],
    [['abc def', '\x1bb', '\x0b', '\x15', '\x19'], 'abc def|'],
    [['one two three', '\x01', '\x1bd', '\x1bd', '\x19'], 'one two| three'],
    [['abc def ghi', '\x17', '\x1b[D', '\x17', '\x19'], 'abc def| '], // a movement in between: a new entry
    [['aa bb cc', '\x17', '\x1b[D', '\x17', '\x05', '\x19', '\x1by'], 'aa  cc|'],
    [['aa bb cc', '\x17', '\x1b[D', '\x17', '\x05', '\x19', '\x1by', '\x1by'], 'aa  bb|'],
  ])('%j -> %j', (chunks, expected) => expect(at(chunks)).toBe(expected));

  it('Alt-. inserts nothing when the word is not there (no history, or no Nth word)', () => {
    expect(at(['\x1b.'], [])).toBe('|');
    expect(at(['\x1b9', '\x1b.'])).toBe('|');
  });

  it('historyWords splits as history_tokenize: quotes kept, operators their own words', () => {
    expect(historyWords('echo "a b" c > out')).toEqual(['echo', '"a b"', 'c', '>', 'out']);
    expect(historyWords("ls|grep 'x y'&&cd 2>/dev/null")).toEqual(['ls', '|', 'grep', "'x y'", '&&', 'cd', '2>', '/dev/null']);
    expect(historyWords('a\\ b c')).toEqual(['a\\ b', 'c']);
  });
});

describe('history policy (HISTCONTROL, HISTSIZE)', () => {
  const p = (vars: Record<string, string>) => historyPolicy(vars);
  it('keeps lines as bash does', () => {
    expect(remember(['a'], 'a', p({}))).toEqual(['a']); // dbox's default: no duplicate in a row
    expect(remember(['a'], 'a', p({HISTCONTROL: ''}))).toEqual(['a', 'a']);
    expect(remember(['a'], ' b', p({HISTCONTROL: 'ignorespace'}))).toEqual(['a']);
    expect(remember(['a'], ' b', p({HISTCONTROL: 'ignoredups'}))).toEqual(['a', ' b']);
    expect(remember(['a'], ' a', p({HISTCONTROL: 'ignoreboth'}))).toEqual(['a']);
    expect(remember(['a', 'b', 'a', 'c'], 'a', p({HISTCONTROL: 'erasedups'}))).toEqual(['b', 'c', 'a']);
    expect(remember(['a', 'b', 'c'], 'd', p({HISTSIZE: '3'}))).toEqual(['b', 'c', 'd']);
    expect(remember(['a'], 'b', p({HISTSIZE: '0'}))).toEqual([]);
    expect(remember(['a'], 'for i\ndo x\ndone\n', p({}))).toEqual(['a', 'for i\ndo x\ndone']); // whole, trailing newline dropped
    expect(afterSubmit({...emptyEditor(['a']), text: ' secret'}, p({HISTCONTROL: 'ignorespace'})).history).toEqual(['a']);
  });
  it('HISTFILESIZE defaults to HISTSIZE; a negative size is no limit', () => {
    expect(p({HISTSIZE: '50'}).fileSize).toBe(50);
    expect(p({HISTSIZE: '50', HISTFILESIZE: '10'}).fileSize).toBe(10);
    expect(p({HISTSIZE: '-1'}).size).toBeGreaterThan(1e9);
  });
});
