// The prompt and the line being edited, or the Ctrl-R search line (props in, JSX out).
import React from 'react';
import {Text} from 'ink';
import type {EditorState} from '../src/shell/editor.js';

export interface EditLineProps {
  readonly prompt: string;
  readonly editor: EditorState;
  readonly suffix?: string;
}

export default function EditLine({prompt, editor, suffix = ''}: EditLineProps): React.ReactElement {
  if (editor.search) {
    const {query, match} = editor.search;
    const found = match !== undefined ? editor.history[match]! : '';
    const at = match !== undefined ? found.indexOf(query) : -1;
    return (
      <Text>
        {`(${match === undefined && query ? 'failed ' : ''}reverse-i-search)\`${query}': `}
        {at >= 0 ? found.slice(0, at) : found}
        {at >= 0 ? <Text inverse>{found.slice(at, at + Math.max(1, query.length))}</Text> : null}
        {at >= 0 ? found.slice(at + Math.max(1, query.length)) : null}
      </Text>
    );
  }
  // The terminal's own cursor marks the position (components/Shell.tsx, useCursor).
  return (
    <Text>
      {prompt}
      {editor.text}
      {suffix}
    </Text>
  );
}
