// The step parts, in the order they run within a step: actions, then the text, then
// the question; routes are tried in the same order (branch before next).
// Adding a step part is adding a file and a line here.
import type { StepPart } from '../../types.ts';
import { ask } from './ask.ts';
import { branch } from './branch.ts';
import { doActions } from './do.ts';
import { next } from './next.ts';
import { say } from './say.ts';

export const stepParts: StepPart[] = [doActions, say, ask, branch, next];
