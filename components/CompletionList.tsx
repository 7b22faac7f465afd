// Completion candidates under the prompt, in columns and coloured like ls (props in, JSX out).
import React from 'react';
import {Text} from 'ink';
import {colorContainer, colorName} from '../src/format/color.js';
import {columns} from '../src/format/columns.js';
import type {Candidate} from '../src/shell/complete.js';

export interface CompletionListProps {
  readonly candidates: readonly Candidate[];
  readonly width: number;
  readonly color: boolean;
}

function shown(c: Candidate, color: boolean): string {
  const name = c.name + (c.dir ? '/' : '');
  if (!color) return name;
  if (c.state) return colorContainer(c.name, c.state) + '/';
  if (c.dir) return colorName(c.name, 0o040755) + '/';
  return c.mode !== undefined ? colorName(c.name, c.mode) : name;
}

export default function CompletionList({candidates, width, color}: CompletionListProps): React.ReactElement {
  const cells = candidates.map((c) => ({text: shown(c, color), width: [...c.name].length + (c.dir ? 1 : 0)}));
  return <Text>{columns(cells, Math.max(10, width)).join('\n')}</Text>;
}
