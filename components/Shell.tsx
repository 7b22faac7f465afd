// The interactive prompt: reads raw keys, runs them through the line editor, completes with Tab
// (a slow lookup is dropped when the line changes), shows candidates on a second Tab, and hands
// the finished line back. Output of commands never passes through here: readLine
// (components/read-line.tsx), which the controller (src/ui/interactive.tsx) calls for each line,
// unmounts this component before a line runs.
//
// What it draws is one frame (src/shell/line-layout.ts: the prompt and the line wrapped as the
// terminal wraps them, the cursor's cell, the candidates below), rendered as Ink text (what tests
// see) and written to the terminal by a Screen (src/shell/terminal-screen.ts), which redraws only
// what changed and cleans up after a resize; Ink's own output goes nowhere (readLine sets this up).
//
// Candidates: a list that fits on the screen below the line is shown there until the next key (as
// zsh does); one of `queryItems` (100, readline's completion-query-items) or more asks first
// ("Display all N possibilities? (y or n)"), and a list taller than the screen is printed above a
// new prompt a screenful at a time behind `--More--`, with readline's keys (Space or y: a page,
// Enter: a line, q or n: stop), as bash does.
//
// Input after the key that ends the line (typed ahead, or the following lines of a paste on a
// terminal without bracketed paste) is not lost: Done carries it as `typeahead`, for the next
// prompt to take as typed.
import React, {useEffect, useLayoutEffect, useRef, useState} from 'react';
import {Text, useStdin} from 'ink';
import {edit, type EditorState} from '../src/shell/editor.js';
import {KeyReader, type Key} from '../src/shell/keys.js';
import type {Candidate, Completion} from '../src/shell/complete.js';
import {cropFrame, editorFrame, frameText, plainRows, type Frame} from '../src/shell/line-layout.js';
import {completionLines} from './CompletionList.js';

export type Done = {
  readonly kind: 'submit' | 'eof' | 'interrupt';
  readonly editor: EditorState;
  /** Input read after the key that ended the line: pass it to the next prompt as `typeahead`. */
  readonly typeahead?: string;
};

/** Where frames go: src/shell/terminal-screen.ts's TerminalScreen (on a terminal, or on a test's emulator). */
export interface Screen {
  readonly columns: number;
  readonly rows: number;
  onResize(listener: () => void): () => void;
  draw(frame: Frame): void;
  commit(): void;
  erase(): void;
  print(lines: readonly string[]): void;
  clearScreen(): void;
  /** Takes input that answers the screen's cursor position query (true when it did). */
  cursorReport?(seq: string): boolean;
}

export interface ShellProps {
  readonly initial: EditorState;
  /** The prompt text now (it changes with container state). */
  readonly prompt: () => string;
  readonly complete: (line: string, cursor: number) => Promise<Completion | undefined>;
  /** Calls back when containers change, so the prompt's colour follows. */
  readonly subscribe?: (onChange: () => void) => () => void;
  readonly onDone: (done: Done) => void;
  readonly color: boolean;
  /** The terminal (readLine gives one). */
  readonly screen: Screen;
  /** Input to take as typed before any key (Done's `typeahead` of the previous prompt). */
  readonly typeahead?: string;
  /** From how many candidates on the list is asked for first (readline's completion-query-items). */
  readonly queryItems?: number;
}

type Mode =
  | {readonly kind: 'edit'}
  | {readonly kind: 'query'; readonly candidates: readonly Candidate[]}
  | {readonly kind: 'more'; readonly lines: readonly string[]; readonly next: number};

const MORE = '--More--';

export default function Shell({initial, prompt, complete, subscribe, onDone, color, screen, typeahead, queryItems = 100}: ShellProps): React.ReactElement {
  const {internal_eventEmitter: input, setRawMode} = useStdin() as ReturnType<typeof useStdin> & {internal_eventEmitter: NodeJS.EventEmitter};
  const [editor, setEditor] = useState(initial);
  const [list, setList] = useState<readonly Candidate[] | undefined>();
  const [mode, setMode] = useState<Mode>({kind: 'edit'});
  const [done, setDone] = useState<Done | undefined>();
  const [, setTick] = useState(0);
  const state = useRef(editor);
  const modeRef = useRef<Mode>(mode);
  const finished = useRef<Done | undefined>(undefined);
  const rest = useRef('');
  const completion = useRef(0);
  const lastTab = useRef<string | undefined>(undefined);
  const promptRef = useRef(prompt);
  promptRef.current = prompt;

  useEffect(() => {
    setRawMode(true);
    return () => setRawMode(false);
  }, [setRawMode]);

  useEffect(() => subscribe?.(() => setTick((t) => t + 1)), [subscribe]);
  useEffect(() => screen.onResize(() => setTick((t) => t + 1)), [screen]);

  // Done is handed over once no paste is half read (the rest of it would reach the next prompt without its start).
  const [pasteOpen, setPasteOpen] = useState(false);
  const delivered = useRef(false);
  useEffect(() => {
    if (!done || pasteOpen || delivered.current) return;
    delivered.current = true;
    onDone(rest.current ? {...done, typeahead: rest.current} : done);
  }, [done, pasteOpen, onDone]);

  useEffect(() => {
    const reader = new KeyReader();
    const redraw = (): void => setTick((t) => t + 1);
    const setModeNow = (m: Mode): void => {
      modeRef.current = m;
      setMode(m);
    };
    const finish = (kind: Done['kind'], shown: EditorState): void => {
      const d: Done = {kind, editor: shown};
      finished.current = d;
      state.current = shown;
      setEditor(shown);
      setList(undefined);
      setModeNow({kind: 'edit'});
      setDone(d);
    };
    /** Prints lines above a new prompt, a screenful at a time (the frame on screen stays above them). */
    const page = (lines: readonly string[], from: number, count: number): void => {
      const end = Math.min(lines.length, from + count);
      screen.print(lines.slice(from, end));
      setModeNow(end < lines.length ? {kind: 'more', lines, next: end} : {kind: 'edit'});
      redraw();
    };
    const printList = (candidates: readonly Candidate[]): void => {
      screen.commit();
      page(completionLines(candidates, screen.columns, color), 0, Math.max(1, screen.rows - 1));
    };
    const showCandidates = (candidates: readonly Candidate[]): void => {
      if (candidates.length >= queryItems) {
        setModeNow({kind: 'query', candidates});
        return;
      }
      const lines = completionLines(candidates, screen.columns, color);
      const lineRows = editorFrame(promptRef.current(), state.current, screen.columns).rows.length;
      if (lineRows + lines.length <= screen.rows - 1) setList(candidates);
      else printList(candidates);
    };
    /** `again`: the previous key was Tab on this same line: list the candidates (bash's second Tab). */
    const runTab = (again: boolean): void => {
      const s = state.current;
      const generation = ++completion.current;
      void complete(s.text, s.cursor).then((c) => {
        // The line changed meanwhile: this answer is stale.
        if (generation !== completion.current || state.current !== s || !c || finished.current) return;
        const text = s.text.slice(0, c.start) + c.insert + s.text.slice(c.end);
        if (text !== s.text) {
          const next: EditorState = {...s, text, cursor: c.start + c.insert.length, undo: [...(s.undo ?? []), {text: s.text, cursor: s.cursor}]};
          state.current = next;
          setEditor(next);
        } else if (c.candidates.length > 1 && again) {
          showCandidates(c.candidates);
        }
      }, () => undefined);
    };
    const queryKey = (key: Key, m: Extract<Mode, {kind: 'query'}>): void => {
      const ch = key.kind === 'text' ? key.text : key.kind === 'backspace' ? '\x7f' : '';
      if (ch === 'y' || ch === 'Y' || ch === ' ') printList(m.candidates);
      else if (ch === 'n' || ch === 'N' || ch === '\x7f') {
        // The question stays on the screen, a new prompt below it (bash).
        screen.commit();
        setModeNow({kind: 'edit'});
        redraw();
      } else if (key.kind === 'ctrl' && key.key === 'g') setModeNow({kind: 'edit'});
      else if (key.kind === 'ctrl' && key.key === 'c') finish('interrupt', state.current);
    };
    const moreKey = (key: Key, m: Extract<Mode, {kind: 'more'}>): void => {
      const ch = key.kind === 'text' ? key.text : key.kind === 'backspace' ? '\x7f' : '';
      const pageSize = Math.max(1, screen.rows - 1);
      if (ch === ' ' || ch === 'y' || ch === 'Y') {
        screen.erase();
        page(m.lines, m.next, pageSize);
      } else if (key.kind === 'enter') {
        screen.erase();
        page(m.lines, m.next, 1);
      } else if ('qQnN\x7f'.includes(ch) && ch !== '' || (key.kind === 'ctrl' && key.key === 'g')) {
        screen.erase();
        setModeNow({kind: 'edit'});
        redraw();
      } else if (key.kind === 'ctrl' && key.key === 'c') {
        screen.erase();
        finish('interrupt', state.current);
      }
    };
    const editKey = (key: Key): void => {
      const before = state.current;
      const r = edit(before, key);
      if (r.state !== before) completion.current++; // any edit cancels a pending completion
      state.current = r.state;
      const lineKey = `${r.state.text}\0${r.state.cursor}`;
      if (r.intent !== 'complete') {
        setList(undefined);
        lastTab.current = undefined;
      }
      switch (r.intent) {
        case 'complete':
          runTab(lastTab.current === lineKey);
          lastTab.current = lineKey;
          break;
        case 'clear-screen':
          // As readline: the screen is cleared and the line drawn again at its top, as it was.
          screen.clearScreen();
          redraw();
          break;
        // Ctrl-C leaves the line as typed on screen, followed by ^C, as bash does.
        case 'interrupt': finish('interrupt', before); break;
        case 'submit':
        case 'eof': finish(r.intent, r.state); break;
        default: break;
      }
    };
    const onInput = (data: string): void => {
      for (const key of reader.push(data)) {
        // The terminal's answer to the screen's question after a resize is not a key.
        if (key.kind === 'unknown' && key.seq && screen.cursorReport?.(key.seq)) continue;
        if (finished.current) {
          rest.current += key.seq ?? (key.kind === 'text' ? key.text : '');
          continue;
        }
        const m = modeRef.current;
        if (m.kind === 'query') queryKey(key, m);
        else if (m.kind === 'more') moreKey(key, m);
        else editKey(key);
      }
      // A paste still open when the line ended belongs to the next prompt, start marker and all.
      if (finished.current) setPasteOpen(reader.pasting);
      else setEditor(state.current);
    };
    input.on('input', onInput);
    if (typeahead) onInput(typeahead);
    return () => {
      input.off('input', onInput);
    };
  }, [input, complete, screen, color, queryItems]);

  const columns = screen.columns;
  const promptNow = prompt();
  let frame: Frame;
  if (done) {
    frame = editorFrame(promptNow, {...done.editor, cursor: done.editor.text.length}, columns, done.kind === 'interrupt' ? '^C' : '');
  } else if (mode.kind === 'more') {
    frame = {rows: plainRows([MORE]), cursor: {x: MORE.length, y: 0}};
  } else {
    const line = editorFrame(promptNow, editor, columns);
    if (mode.kind === 'query') {
      const question = `Display all ${mode.candidates.length} possibilities? (y or n)`;
      frame = {rows: [...line.rows, ...plainRows([question])], cursor: {x: question.length, y: line.rows.length}};
    } else if (list) {
      frame = {rows: [...line.rows, ...plainRows(completionLines(list, columns, color))], cursor: line.cursor};
    } else frame = line;
  }
  frame = cropFrame(frame, screen.rows - 1);

  useLayoutEffect(() => {
    screen.draw(frame);
    if (done) screen.commit();
  });

  return <Text>{frameText(frame)}</Text>;
}
