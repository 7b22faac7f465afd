// Completion candidates under the prompt, in columns and coloured like ls (props in, JSX out).
// Names come from containers: each is shown as `ls` shows names on a terminal (shell-escape,
// src/format/quote.ts), measured with textWidth, so no candidate can act on the terminal and wide
// names line up.
import React from 'react';
import {Text} from 'ink';
import {colorableInInk, colorContainer, colorName} from '../src/format/color.js';
import {columns, type Cell} from '../src/format/columns.js';
import {quoteName, type NameQuoting} from '../src/format/quote.js';
import {textWidth} from '../src/format/width.js';
import type {Candidate} from '../src/shell/complete.js';

export interface CompletionListProps {
  readonly candidates: readonly Candidate[];
  readonly width: number;
  readonly color: boolean;
}

/** As ls on a terminal. */
const onTerminal: NameQuoting = {style: 'shell-escape', hideControl: true};

export function candidateCell(c: Candidate, color: boolean): Cell {
  const name = quoteName(c.name, onTerminal).text;
  const slash = c.dir ? '/' : '';
  const width = textWidth(name) + slash.length;
  if (!color || !colorableInInk(name)) return {text: name + slash, width};
  if (c.state) return {text: colorContainer(name, c.state) + slash, width};
  if (c.dir) return {text: colorName(name, 0o040755) + slash, width};
  return {text: (c.mode !== undefined ? colorName(name, c.mode) : name) + slash, width};
}

/** The list's lines, as ls -C lays names out in `width` columns. */
export function completionLines(candidates: readonly Candidate[], width: number, color: boolean): string[] {
  return columns(candidates.map((c) => candidateCell(c, color)), Math.max(10, width));
}

export default function CompletionList({candidates, width, color}: CompletionListProps): React.ReactElement {
  return <Text>{completionLines(candidates, width, color).join('\n')}</Text>;
}
