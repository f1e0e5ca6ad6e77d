// `do: [ - join: supporters, - consent: granted ]`: runs actions, in order.
import type { StepPart } from '../../types.ts';
import { actions } from '../actions/index.ts';

export const doActions: StepPart = {
  key: 'do',
  enter(value, ctx) {
    for (const item of value as Record<string, unknown>[]) {
      for (const [key, argument] of Object.entries(item)) {
        const action = actions.get(key);
        if (!action) return ctx.end(`unknown action "${key}" in flow "${ctx.flow.id}" (known: ${[...actions.keys()].join(', ')})`);
        action.run(argument, ctx);
        if (ctx.state.status === 'done') return;
      }
    }
  },
};
