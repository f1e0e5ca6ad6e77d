// `type: email`: an e-mail address, lower-cased.
import type { AskType } from './index.ts';

const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[^\s@<>()[\],;:"]{2,}$/u;

export const email: AskType = {
  type: 'email',
  retry: 'common.retry_email',
  parse(input) {
    const value = input.text.trim().replace(/^mailto:/i, '').toLowerCase();
    return value.length <= 254 && EMAIL.test(value) ? { ok: true, value } : { ok: false };
  },
};
