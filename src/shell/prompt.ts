// The prompt (pure): `dbox:<cwd>$`, `~` for home, the container's name coloured by its state
// when the cwd is inside one, and the last status when it is not zero.
import {colorContainer} from '../format/color.js';
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
  let where = tildify(p.cwd, p.home);
  if (loc.kind === 'container' && loc.endpoint === undefined) {
    const name = p.color && p.containerState ? `\x1b[1m${colorContainer(loc.name, p.containerState)}` : loc.name;
    where = `${CONTAINERS}/${name}${loc.path === '/' ? '' : loc.path}`;
  }
  const status = p.status !== 0 ? (p.color ? ` \x1b[31m[${p.status}]\x1b[0m` : ` [${p.status}]`) : '';
  return `dbox:${where}${status}$ `;
}
