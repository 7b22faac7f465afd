// The builtin registry: one file per builtin in this folder.
import type {Builtin} from '../src/shell/context.js';
import {attach} from './attach.js';
import {cat} from './cat.js';
import {cd} from './cd.js';
import {cp} from './cp.js';
import {exit} from './exit.js';
import {makeHelp} from './help.js';
import {ls} from './ls.js';
import {pwd} from './pwd.js';

export const builtins: readonly Builtin[] = [ls, cd, pwd, cat, cp, attach, makeHelp(() => builtins), exit];

export const builtinNamed = (name: string): Builtin | undefined => builtins.find((b) => b.name === name);
