// Where the docker CLI keeps a context's files: the sha256 of its name. dbox only reads contexts
// (endpoints.ts lists the directories); writing one, as the tests do, needs the name's digest.
import {createHash} from 'node:crypto';

export const contextDir = (name: string): string => createHash('sha256').update(name).digest('hex');
