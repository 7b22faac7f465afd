// The prompt (pure): `dbox:<cwd>$`, `~` for home, the container's name coloured by its state
// when the cwd is inside one, and the last status when it is not zero.
// The cwd may be a container's directory with a hostile name: bash's \w prints it raw; dbox shows
// every character that is not printable, and every invalid byte, as a C escape (`\033`), so no
// directory name can retitle the window or hide the prompt.
import {colorableInInk, colorContainer} from '../format/color.js';
import {escapeControls} from '../format/quote.js';
import {CONTAINERS, locate, tildify} from '../vfs/path.js';

export interface PromptInfo {
  readonly cwd: string;
  readonly home: string;
  readonly status: number;
  /** State of the container the cwd is in (running, exited…), when it is in one. */
  readonly containerState?: string;
  readonly color: boolean;
}

export function promptText(p: PromptInfo): string {
  const loc = locate(p.cwd);
  let where = escapeControls(tildify(p.cwd, p.home));
  if (loc.kind === 'container' && loc.endpoint === undefined) {
    const shown = escapeControls(loc.name);
    const name = p.color && p.containerState && colorableInInk(shown) ? `\x1b[1m${colorContainer(shown, p.containerState)}` : shown;
    where = `${CONTAINERS}/${name}${loc.path === '/' ? '' : escapeControls(loc.path)}`;
  }
  const status = p.status !== 0 ? (p.color ? ` \x1b[31m[${p.status}]\x1b[0m` : ` [${p.status}]`) : '';
  return `dbox:${where}${status}$ `;
}
