// `type: text`: any non-empty text, trimmed.
import type { AskType } from './index.ts';

export const text: AskType = {
  type: 'text',
  parse(input) {
    const value = input.text.trim();
    return value ? { ok: true, value } : { ok: false };
  },
};
