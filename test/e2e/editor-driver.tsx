// The smallest controller around the line editor, for end-to-end tests in a real terminal: a
// prompt (components/read-line.tsx) in a loop, each line run by `bash -c` with the terminal, history
// in memory (or in EDITOR_HISTFILE), completion of commands and of host paths. It is what
// src/ui/interactive.tsx does around readLine, without sessions, containers or job control.
//
// Environment: EDITOR_PROMPT (default '$ '), EDITOR_PLAIN=1 (no `[status]` before it), EDITOR_COLOR=1, EDITOR_HISTFILE, HISTCONTROL, HISTSIZE.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {readLine} from '../../components/read-line.js';
import {complete, type Candidate, type CompletionSource} from '../../src/shell/complete.js';
import {afterSubmit, emptyEditor, type EditorState} from '../../src/shell/editor.js';
import {historyPolicy, loadHistory, saveHistory} from '../../src/shell/history-file.js';

const env = process.env;
const promptText = env['EDITOR_PROMPT'] ?? '$ ';
const histfile = env['EDITOR_HISTFILE'];
const policy = historyPolicy(env);

const source: CompletionSource = {
  commands: async () => ['bash', 'cat', 'echo', 'false', 'grep', 'ls', 'printf', 'true'],
  list: async (dir) => fs.readdirSync(dir, {withFileTypes: true}).map((e): Candidate => ({name: e.name, dir: e.isDirectory()})),
  variables: async () => Object.entries(env).map(([name, value]): Candidate => ({name, dir: value !== undefined && value.startsWith('/') && fs.statSync(value, {throwIfNoEntry: false})?.isDirectory() === true})),
  users: async () => ['root', 'daemon', 'nobody'],
};

let editor: EditorState = emptyEditor(histfile ? loadHistory(histfile, policy) : []);
let typeahead: string | undefined;
let status = 0;
for (;;) {
  const done = await readLine({
    initial: editor,
    prompt: () => (status !== 0 && env['EDITOR_PLAIN'] !== '1' ? `[${status}] ` : '') + promptText,
    complete: (line, cursor) => complete(line, cursor, {cwd: process.cwd(), home: env['HOME'] ?? '/'}, source),
    color: env['EDITOR_COLOR'] === '1',
    ...(typeahead ? {typeahead} : {}),
  });
  typeahead = done.typeahead;
  if (done.kind === 'eof') {
    process.stdout.write('exit\n');
    process.exit(0);
  }
  if (done.kind === 'interrupt') {
    editor = emptyEditor(done.editor.history);
    status = 130;
    continue;
  }
  const text = done.editor.text;
  editor = afterSubmit(done.editor, policy);
  if (histfile) saveHistory(histfile, editor.history, policy);
  if (text.trim() === '') continue;
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', text], {stdio: 'inherit', cwd: path.resolve('.')});
  status = r.status ?? 128 + 2;
}
