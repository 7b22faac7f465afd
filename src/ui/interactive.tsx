// The interactive shell on a terminal. Per line: Ink renders the prompt (components/Shell.tsx);
// when the line is submitted Ink is unmounted — its final frame, the prompt and the line, stays
// in the scrollback as in any shell — and the line runs with the terminal handed over (cooked
// mode, Ctrl-C to the command). Command output goes straight to the terminal, never through
// React, so a 10,000-line `cat` scrolls at terminal speed and the prompt stays light.
import {render} from 'ink';
import Shell, {type Done} from '../../components/Shell.js';
import {complete} from '../shell/complete.js';
import {namespaceSource} from '../shell/completion-source.js';
import {afterSubmit, emptyEditor, type EditorState} from '../shell/editor.js';
import {historyPath, loadHistory, saveHistory} from '../shell/history-file.js';
import {quoteaf} from '../format/quote.js';
import {promptText} from '../shell/prompt.js';
import type {Session} from '../shell/session.js';
import type {ContainerInfo} from '../docker/engine.js';
import {Spinner} from './spinner.js';
import {CONTAINERS, locate} from '../vfs/path.js';

export async function interactive(session: Session, env: NodeJS.ProcessEnv): Promise<number> {
  const out = process.stdout;
  const ns = session.ns;
  const color = out.isTTY === true && env['NO_COLOR'] === undefined;
  const historyFile = historyPath(env);
  let editor: EditorState = emptyEditor(loadHistory(historyFile));
  const source = namespaceSource(ns, env);

  // Live container state: the prompt's colour and completion follow the engine's events.
  let containers: readonly ContainerInfo[] = await ns.containers().catch(() => []);
  const stopLive = await ns.live().catch(() => () => undefined);
  const listeners = new Set<() => void>();
  const notify = (): void => listeners.forEach((l) => l());
  let notice = '';
  ns.onChange((id, action) => {
    void ns.containers().then((list) => {
      const here = locate(session.cwd);
      if (here.kind === 'container' && !list.some((c) => c.name === here.name) && containers.some((c) => c.name === here.name && c.id === id)) {
        notice = `dbox: container ${quoteaf(here.name)} ${action === 'rename' ? 'was renamed' : 'was removed'}; now in ${CONTAINERS}\n`;
        session.cwd = CONTAINERS;
      }
      containers = list;
      notify();
    }, () => undefined);
  });
  const subscribe = (listener: () => void): (() => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };

  const prompt = (): string => {
    const here = locate(session.cwd);
    const state = here.kind === 'container' ? containers.find((c) => c.name === here.name)?.state : undefined;
    const text = promptText({cwd: session.cwd, home: session.home, status: session.lastStatus, color, ...(state ? {containerState: state} : {})});
    return notice + text;
  };
  const spinner = new Spinner(process.stderr);
  if (process.stderr.isTTY) ns.engine.onActivity = (pending) => spinner.activity(pending);
  const completeAt = (line: string, cursor: number) => complete(line, cursor, {cwd: session.cwd, home: session.home}, source);

  try {
    for (;;) {
      const done = await new Promise<Done>((resolve) => {
        const instance = render(
          <Shell initial={editor} prompt={prompt} complete={completeAt} subscribe={subscribe} color={color}
            onDone={(d) => {
              instance.unmount();
              resolve(d);
            }} />,
          {exitOnCtrlC: false, patchConsole: false},
        );
      });
      notice = '';
      switch (done.kind) {
        case 'eof':
          out.write('exit\n');
          return session.lastStatus;
        case 'interrupt':
          session.lastStatus = 130;
          editor = emptyEditor(editor.history);
          continue;
        case 'clear-screen':
          out.write('\x1b[H\x1b[2J');
          editor = done.editor;
          continue;
        case 'submit': {
          editor = afterSubmit(done.editor);
          saveHistory(historyFile, editor.history);
          spinner.enabled = true;
          const outcome = await session.runLine(done.editor.text).finally(() => {
            spinner.enabled = false;
            spinner.stop();
          });
          if (outcome.exit !== undefined) return outcome.exit;
        }
      }
    }
  } finally {
    stopLive();
  }
}
