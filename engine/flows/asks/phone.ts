// `type: phone`: a phone number, stored in E.164 (+33612345678). Numbers written without
// a country code are read as from `country` (an ISO code such as FR), when set.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { asciiDigits } from '../../format.ts';
import type { AskType } from './index.ts';

export const phone: AskType = {
  type: 'phone',
  retry: 'common.retry_phone',
  parse(input, spec) {
    const number = parsePhoneNumberFromString(asciiDigits(input.text).trim(), spec.country as CountryCode | undefined);
    return number?.isValid() ? { ok: true, value: number.number } : { ok: false };
  },
};
