// `type: text`: any non-empty text, trimmed (at most `max` characters when set).
import type { AskType } from './index.ts';

export const text: AskType = {
  type: 'text',
  parse(input, spec) {
    const value = input.text.trim();
    if (!value) return { ok: false };
    if (typeof spec.max === 'number' && value.length > spec.max) return { ok: false };
    return { ok: true, value };
  },
};
