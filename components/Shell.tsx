// The interactive prompt: reads raw keys, runs them through the line editor, completes with Tab
// (a slow lookup is dropped when the line changes), shows candidates on a second Tab, and hands
// the finished line back. Output of commands never passes through here: the controller
// (src/ui/interactive.tsx) unmounts this component while a line runs.
import React, {useEffect, useRef, useState} from 'react';
import {Box, useCursor, useStdin, useStdout} from 'ink';
import {edit, type EditorState, type Intent} from '../src/shell/editor.js';
import {parseKeys} from '../src/shell/keys.js';
import type {Candidate, Completion} from '../src/shell/complete.js';
import {cursorPosition} from '../src/shell/cursor.js';
import CompletionList from './CompletionList.js';
import EditLine from './EditLine.js';

export type Done = {readonly kind: 'submit' | 'eof' | 'interrupt' | 'clear-screen'; readonly editor: EditorState};

export interface ShellProps {
  readonly initial: EditorState;
  /** The prompt text now (it changes with container state). */
  readonly prompt: () => string;
  readonly complete: (line: string, cursor: number) => Promise<Completion | undefined>;
  /** Calls back when containers change, so the prompt's colour follows. */
  readonly subscribe?: (onChange: () => void) => () => void;
  readonly onDone: (done: Done) => void;
  readonly color: boolean;
}

export default function Shell({initial, prompt, complete, subscribe, onDone, color}: ShellProps): React.ReactElement {
  const {internal_eventEmitter: input, setRawMode} = useStdin() as ReturnType<typeof useStdin> & {internal_eventEmitter: NodeJS.EventEmitter};
  const {stdout} = useStdout();
  const [editor, setEditor] = useState(initial);
  const [list, setList] = useState<readonly Candidate[] | undefined>();
  const [done, setDone] = useState<Done | undefined>();
  const [, setTick] = useState(0);
  const state = useRef(editor);
  const completion = useRef(0);
  const lastTab = useRef<string | undefined>(undefined);
  const {setCursorPosition} = useCursor();

  useEffect(() => {
    setRawMode(true);
    return () => setRawMode(false);
  }, [setRawMode]);

  useEffect(() => subscribe?.(() => setTick((t) => t + 1)), [subscribe]);

  useEffect(() => {
    if (done) onDone(done);
  }, [done, onDone]);

  useEffect(() => {
    /** `again`: the previous key was Tab on this same line: list the candidates (bash's second Tab). */
    const runTab = (again: boolean): void => {
      const s = state.current;
      const generation = ++completion.current;
      void complete(s.text, s.cursor).then((c) => {
        // The line changed meanwhile: this answer is stale.
        if (generation !== completion.current || state.current !== s || !c) return;
        const text = s.text.slice(0, c.start) + c.insert + s.text.slice(c.end);
        if (text !== s.text) {
          const next = {...s, text, cursor: c.start + c.insert.length};
          state.current = next;
          setEditor(next);
        } else if (c.candidates.length > 1 && again) {
          setList(c.candidates);
        }
      });
    };
    const onInput = (data: string): void => {
      if (state.current === undefined) return;
      for (const key of parseKeys(data)) {
        const before = state.current;
        const r = edit(before, key);
        if (r.state !== before) completion.current++; // any edit cancels a pending completion
        state.current = r.state;
        const intent: Intent | undefined = r.intent;
        const lineKey = `${r.state.text}\0${r.state.cursor}`;
        if (intent !== 'complete') {
          setList(undefined);
          lastTab.current = undefined;
        }
        if (intent === 'complete') {
          runTab(lastTab.current === lineKey);
          lastTab.current = lineKey;
        }
        else if (intent) {
          // Ctrl-C leaves the line as typed on screen, followed by ^C, as bash does.
          const shown = intent === 'interrupt' ? before : r.state;
          setEditor(shown);
          setDone({kind: intent, editor: shown});
          return;
        }
      }
      setEditor(state.current);
    };
    input.on('input', onInput);
    return () => {
      input.off('input', onInput);
    };
  }, [input, complete]);

  const promptNow = prompt();
  // The terminal cursor at the editing position (hidden in the final frame and during search).
  const before = editor.search ? undefined : promptNow + editor.text.slice(0, editor.cursor);
  setCursorPosition(done || before === undefined ? undefined : cursorPosition(before, stdout.columns || 80));
  if (done) return <EditLine prompt={promptNow} editor={done.editor} suffix={done.kind === 'interrupt' ? '^C' : ''} />;
  return (
    <Box flexDirection="column">
      <EditLine prompt={promptNow} editor={editor} />
      {list ? <CompletionList candidates={list} width={stdout.columns || 80} color={color} /> : null}
    </Box>
  );
}
