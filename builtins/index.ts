// The builtin registry: one file per builtin in this folder. They are commands of the session's
// bash (functions that call dbox), so bash's own cd, pwd and exit keep the shell's state.
import type {Builtin} from '../src/shell/context.js';
import {attach} from './attach.js';
import {cat} from './cat.js';
import {cp} from './cp.js';
import {makeHelp} from './help.js';
import {ls} from './ls.js';

export const builtins: readonly Builtin[] = [ls, cat, cp, attach, makeHelp(() => builtins)];

export const builtinNamed = (name: string): Builtin | undefined => builtins.find((b) => b.name === name);
