// Raw terminal input -> keys (pure). Readline's bindings need distinctions Ink's key object
// does not make (Backspace and Delete are both "delete" there), so dbox reads the raw sequences.
//
// Bracketed paste: while the prompt is up the terminal is asked (`\e[?2004h`, see
// src/shell/terminal-screen.ts) to wrap pasted text in `\e[200~ … \e[201~`. Everything between the
// two markers is one `paste` key whatever bytes it holds: a Tab, a ^C, an escape sequence or a
// newline pasted is text, never a binding. The markers may arrive split across reads (a large
// paste comes in many chunks), so a KeyReader keeps the state between chunks.
//
// Every key keeps its raw bytes (`seq`): Ctrl-V inserts the next key as typed, and input that
// follows an accepted line is handed back as typed (typeahead for the next prompt).

export type Key = (
  | {readonly kind: 'text'; readonly text: string}
  | {readonly kind: 'paste'; readonly text: string}
  /** A control character: a..z, and @ \ ] ^ _ for NUL, 0x1c..0x1f. */
  | {readonly kind: 'ctrl'; readonly key: string}
  | {readonly kind: 'alt'; readonly key: string}
  | {readonly kind: 'enter' | 'tab' | 'backspace' | 'delete' | 'left' | 'right' | 'up' | 'down' | 'home' | 'end' | 'escape' | 'alt-backspace'
    | 'word-left' | 'word-right' | 'unknown'}
) & {readonly seq?: string};

const PASTE_START = '\x1b[200~';
const PASTE_END = '\x1b[201~';

const sequences: Record<string, Key> = {
  '\r': {kind: 'enter'}, '\n': {kind: 'enter'}, '\t': {kind: 'tab'}, '\x7f': {kind: 'backspace'}, '\b': {kind: 'backspace'},
  '\x1b[3~': {kind: 'delete'}, '\x1b[D': {kind: 'left'}, '\x1b[C': {kind: 'right'}, '\x1b[A': {kind: 'up'}, '\x1b[B': {kind: 'down'},
  '\x1bOD': {kind: 'left'}, '\x1bOC': {kind: 'right'}, '\x1bOA': {kind: 'up'}, '\x1bOB': {kind: 'down'},
  '\x1b[H': {kind: 'home'}, '\x1b[F': {kind: 'end'}, '\x1bOH': {kind: 'home'}, '\x1bOF': {kind: 'end'},
  '\x1b[1~': {kind: 'home'}, '\x1b[4~': {kind: 'end'}, '\x1b[7~': {kind: 'home'}, '\x1b[8~': {kind: 'end'},
  '\x1b[1;2H': {kind: 'home'}, '\x1b[1;2F': {kind: 'end'}, '\x1b[1;5H': {kind: 'home'}, '\x1b[1;5F': {kind: 'end'},
  '\x1b\x7f': {kind: 'alt-backspace'}, '\x1b\b': {kind: 'alt-backspace'}, '\x1b': {kind: 'escape'},
  // Ctrl-Left/Right and Alt-Left/Right: by word, as bash's readline
  '\x1b[1;5D': {kind: 'word-left'}, '\x1b[1;5C': {kind: 'word-right'}, '\x1b[1;3D': {kind: 'word-left'}, '\x1b[1;3C': {kind: 'word-right'},
  '\x1b[5D': {kind: 'word-left'}, '\x1b[5C': {kind: 'word-right'}, '\x1bOd': {kind: 'word-left'}, '\x1bOc': {kind: 'word-right'},
};

/** The name of a control character as readline's C-x: letters lower case, others as @ \ ] ^ _. */
const ctrlName = (code: number): string => String.fromCharCode(code + 0x40).toLowerCase();

const withSeq = (k: Key, seq: string): Key => ({...k, seq});

/** Keys of input outside a paste. */
function plainKeys(data: string, keys: Key[]): void {
  let text = '';
  const flush = (): void => {
    if (text) keys.push({kind: 'text', text, seq: text});
    text = '';
  };
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    const code = c.charCodeAt(0);
    if (c === '\x1b') {
      flush();
      const rest = data.slice(i);
      const csi = /^\x1b(\[[0-9;?]*[~A-Za-z]|O[A-Za-z])/.exec(rest);
      if (csi) {
        const k = sequences[csi[0]];
        keys.push(withSeq(k ?? {kind: 'unknown'}, csi[0]));
        i += csi[0].length - 1;
      } else if (rest.length > 1) {
        const next = rest[1]!;
        const seq = rest.slice(0, 2);
        keys.push(withSeq(next === '\x7f' || next === '\b' ? {kind: 'alt-backspace'} : {kind: 'alt', key: next.toLowerCase()}, seq));
        i += 1;
      } else keys.push(withSeq({kind: 'escape'}, c));
    } else if (c === '\r' || c === '\n' || c === '\t' || c === '\x7f' || c === '\b') {
      flush();
      keys.push(withSeq(sequences[c]!, c));
    } else if (code < 0x20) {
      flush();
      keys.push({kind: 'ctrl', key: ctrlName(code), seq: c});
    } else text += c;
  }
  flush();
}

/** Reads keys from successive chunks of terminal input, keeping a paste open across chunks. */
export class KeyReader {
  /** The text of a paste still open (its end marker not seen yet), or undefined. */
  private paste: string | undefined;

  push(data: string): Key[] {
    const keys: Key[] = [];
    let rest = data;
    while (rest !== '') {
      if (this.paste !== undefined) {
        const joined = this.paste + rest;
        const end = joined.indexOf(PASTE_END);
        if (end < 0) {
          this.paste = joined;
          break;
        }
        const text = joined.slice(0, end);
        keys.push({kind: 'paste', text, seq: PASTE_START + text + PASTE_END});
        this.paste = undefined;
        rest = joined.slice(end + PASTE_END.length);
        continue;
      }
      const start = rest.indexOf(PASTE_START);
      if (start < 0) {
        plainKeys(rest, keys);
        break;
      }
      plainKeys(rest.slice(0, start), keys);
      this.paste = '';
      rest = rest.slice(start + PASTE_START.length);
    }
    return keys;
  }

  /** Whether a paste is open (its end marker not read yet). */
  get pasting(): boolean {
    return this.paste !== undefined;
  }
}

/** One chunk of input (keys, pasted text) -> keys. Unknown escape sequences are 'unknown'. */
export function parseKeys(data: string): Key[] {
  return new KeyReader().push(data);
}
