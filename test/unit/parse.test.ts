import {describe, expect, it} from 'vitest';
import {commandText, parseLine} from '../../src/shell/parse.js';

const vars = (name: string): string | undefined => ({'?': '3', HOME: '/root'})[name];
const words = (...w: string[]) => w.map((text) => ({text, glob: false}));

describe('parseLine', () => {
  it('empty and comments', () => {
    expect(parseLine('   ', vars)).toEqual({kind: 'empty'});
    expect(parseLine('# nothing', vars)).toEqual({kind: 'empty'});
  });
  it('keeps quoted spaces', () =>
    expect(parseLine('cat "a b" c', vars)).toEqual({kind: 'sequence', commands: [{words: words('cat', 'a b', 'c')}]}));
  it('chains with && || ;', () =>
    expect(parseLine('cd /x && cat y || ls; pwd', vars)).toEqual({
      kind: 'sequence',
      commands: [
        {words: words('cd', '/x')}, {words: words('cat', 'y'), after: '&&'}, {words: words('ls'), after: '||'},
        {words: words('pwd'), after: ';'},
      ],
    }));
  it('a trailing ; is fine', () => expect(parseLine('ls;', vars)).toEqual({kind: 'sequence', commands: [{words: words('ls')}]}));
  it('marks unquoted globs, not quoted ones', () =>
    expect(parseLine("ls /containers/*/etc '*'", vars)).toEqual({
      kind: 'sequence',
      commands: [{words: [{text: 'ls', glob: false}, {text: '/containers/*/etc', glob: true}, {text: '*', glob: false}]}],
    }));
  it('bracket classes are globs unless quoted', () => {
    expect(parseLine('cat [ab].txt', vars)).toEqual({kind: 'sequence', commands: [{words: [{text: 'cat', glob: false}, {text: '[ab].txt', glob: true}]}]});
    expect(parseLine("cat '[ab].txt'", vars)).toEqual({kind: 'sequence', commands: [{words: words('cat', '[ab].txt')}]});
    expect(parseLine('cat \\[ab].txt', vars)).toEqual({kind: 'sequence', commands: [{words: words('cat', '[ab].txt')}]});
  });
  it('expands variables and $?', () =>
    expect(parseLine('cat $HOME/x $? $NOPE', vars)).toEqual({kind: 'sequence', commands: [{words: words('cat', '/root/x', '3', '')}]}));
  it.each(['grep x | wc -l', 'ls > out', 'cat < in', 'echo $(ls)', 'echo `ls`', 'sleep 1 &', '(cd x)', '&& ls'])(
    '%s goes to the real shell',
    (line) => expect(parseLine(line, vars)).toEqual({kind: 'shell', line}),
  );
});

describe('commandText', () => {
  it('quotes words and leaves globs bare', () =>
    expect(commandText([{text: 'grep', glob: false}, {text: 'a b', glob: false}, {text: '*.txt', glob: true}])).toBe(
      "grep 'a b' *.txt",
    ));
});
