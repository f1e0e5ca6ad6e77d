// The step parts, in the order they run within a step: actions, then the text, then
// the question; routes are tried in the same order (branch, then when, then next).
// Adding a step part is adding a file and a line here.
import type { StepPart } from '../../types.ts';
import { ask } from './ask.ts';
import { branch } from './branch.ts';
import { doActions } from './do.ts';
import { next } from './next.ts';
import { say } from './say.ts';
import { when } from './when.ts';

export const stepParts: StepPart[] = [doActions, say, ask, branch, when, next];
