// Raw terminal input -> keys (pure). Readline's bindings need distinctions Ink's key object
// does not make (Backspace and Delete are both "delete" there), so dbox reads the raw sequences.

export type Key =
  | {readonly kind: 'text'; readonly text: string}
  | {readonly kind: 'ctrl'; readonly key: string} // a..z
  | {readonly kind: 'alt'; readonly key: string}
  | {readonly kind: 'enter' | 'tab' | 'backspace' | 'delete' | 'left' | 'right' | 'up' | 'down' | 'home' | 'end' | 'escape' | 'alt-backspace'};

const sequences: Record<string, Key> = {
  '\r': {kind: 'enter'}, '\n': {kind: 'enter'}, '\t': {kind: 'tab'}, '\x7f': {kind: 'backspace'}, '\b': {kind: 'backspace'},
  '\x1b[3~': {kind: 'delete'}, '\x1b[D': {kind: 'left'}, '\x1b[C': {kind: 'right'}, '\x1b[A': {kind: 'up'}, '\x1b[B': {kind: 'down'},
  '\x1bOD': {kind: 'left'}, '\x1bOC': {kind: 'right'}, '\x1bOA': {kind: 'up'}, '\x1bOB': {kind: 'down'},
  '\x1b[H': {kind: 'home'}, '\x1b[F': {kind: 'end'}, '\x1bOH': {kind: 'home'}, '\x1bOF': {kind: 'end'},
  '\x1b[1~': {kind: 'home'}, '\x1b[4~': {kind: 'end'}, '\x1b[7~': {kind: 'home'}, '\x1b[8~': {kind: 'end'},
  '\x1b\x7f': {kind: 'alt-backspace'}, '\x1b\b': {kind: 'alt-backspace'}, '\x1b': {kind: 'escape'},
  '\x1b[1;5D': {kind: 'alt', key: 'b'}, '\x1b[1;5C': {kind: 'alt', key: 'f'}, // Ctrl-Left/Right: by word, as bash
  '\x1b[1;3D': {kind: 'alt', key: 'b'}, '\x1b[1;3C': {kind: 'alt', key: 'f'},
};

/** One chunk of input (one key, or pasted text) -> keys. Unknown escape sequences are dropped. */
export function parseKeys(data: string): Key[] {
  const whole = sequences[data];
  if (whole) return [whole];
  const keys: Key[] = [];
  let text = '';
  const flush = (): void => {
    if (text) keys.push({kind: 'text', text});
    text = '';
  };
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    const code = c.charCodeAt(0);
    if (c === '\x1b') {
      flush();
      const rest = data.slice(i);
      const csi = /^\x1b(\[[0-9;]*[~A-Za-z]|O[A-Za-z])/.exec(rest);
      if (csi) {
        const k = sequences[csi[0]];
        if (k) keys.push(k);
        i += csi[0].length - 1;
      } else if (rest.length > 1) {
        const next = rest[1]!;
        keys.push(next === '\x7f' || next === '\b' ? {kind: 'alt-backspace'} : {kind: 'alt', key: next.toLowerCase()});
        i += 1;
      } else keys.push({kind: 'escape'});
    } else if (c === '\r' || c === '\n' || c === '\t' || c === '\x7f' || c === '\b') {
      flush();
      keys.push(sequences[c]!);
    } else if (code < 0x20) {
      flush();
      keys.push({kind: 'ctrl', key: String.fromCharCode(code + 0x60)});
    } else text += c;
  }
  flush();
  return keys;
}
