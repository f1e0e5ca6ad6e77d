// Flow actions for `do:`. Adding one is adding a file and a line here.
import type { Action } from '../../types.ts';
import { consent } from './consent.ts';
import { join } from './join.ts';
import { leave } from './leave.ts';
import { set } from './set.ts';

export const actions = new Map<string, Action>([join, leave, set, consent].map((action) => [action.key, action]));
