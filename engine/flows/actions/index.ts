// Flow actions for `do:`. Adding one is adding a file and a line here.
import type { Action } from '../../types.ts';
import { consent } from './consent.ts';
import { goto } from './goto.ts';
import { join } from './join.ts';
import { leave } from './leave.ts';
import { notify } from './notify.ts';
import { rsvp } from './rsvp.ts';
import { set } from './set.ts';
import { webhook } from './webhook.ts';

export const actions = new Map<string, Action>([join, leave, set, consent, rsvp, notify, webhook, goto].map((action) => [action.key, action]));
