// Quiet hours: no bulk message or reminder between, by default, 21:00 and 08:00 in the
// contact's timezone. A message that falls in them waits for the morning.
import { validTimezone } from '../format.ts';

export interface QuietHours {
  /** Hour the quiet starts (21) and ends (8), local time. */
  start: number;
  end: number;
}

/** When the quiet hours around `now` end, in `timezone`; undefined when it is not quiet. */
export function quietUntil(now: Date, timezone: string | null | undefined, quiet: QuietHours): Date | undefined {
  if (quiet.start === quiet.end) return undefined;
  const zone = validTimezone(timezone);
  const local = localParts(now, zone);
  const hour = local.hour + local.minute / 60;
  const inQuiet = quiet.start < quiet.end ? hour >= quiet.start && hour < quiet.end : hour >= quiet.start || hour < quiet.end;
  if (!inQuiet) return undefined;
  // The next local `end:00` after now: step an hour at a time (DST-safe, at most a day).
  let probe = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 + 3_600_000);
  for (let i = 0; i < 26; i++, probe = new Date(probe.getTime() + 3_600_000)) {
    const parts = localParts(probe, zone);
    if (parts.hour === quiet.end) return new Date(probe.getTime() - parts.minute * 60_000);
  }
  return new Date(now.getTime() + 12 * 3_600_000);
}

function localParts(instant: Date, timezone: string) {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', hour: 'numeric', minute: 'numeric' }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  return { hour: get('hour'), minute: get('minute') };
}

export function parseQuietHours(text: string): QuietHours | undefined {
  const match = /^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$/.exec(text);
  if (!match) return undefined;
  const [start, end] = [Number(match[1]), Number(match[2])];
  return start < 24 && end < 24 ? { start, end } : undefined;
}
