import { backoffMs } from '../../engine/delivery/backoff.ts';
import { choicesAsText, fitToChannel, splitText } from '../../engine/delivery/format.ts';
import { GroupCommit } from '../../engine/delivery/group-commit.ts';
import { RateLimiter } from '../../engine/delivery/rate-limit.ts';

describe('backoff', () => {
  test('grows exponentially, with jitter in the upper half, capped', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffMs(20, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffMs(20, 1000, 60_000, () => 0)).toBe(30_000);
  });
});

describe('rate limiter', () => {
  test('spaces sends evenly and honours a pause', () => {
    let now = 1000;
    const limiter = new RateLimiter(10, () => now);
    expect([limiter.reserve(), limiter.reserve(), limiter.reserve()]).toEqual([0, 100, 200]);
    now = 2000;
    limiter.pause(5000);
    expect(limiter.pausedFor()).toBe(5000);
    expect(limiter.reserve()).toBe(5000);
  });

  test('an unlimited channel never waits', () => {
    const limiter = new RateLimiter(Infinity);
    expect([limiter.reserve(), limiter.reserve()]).toEqual([0, 0]);
  });
});

describe('fitting messages to a channel', () => {
  const message = { text: 'Coming?', choices: [{ id: 'yes', label: 'Yes' }, { id: 'no', label: 'No' }] };

  test('numbered choices without buttons, buttons kept with them', () => {
    expect(choicesAsText(message)).toBe('Coming?\n1) Yes  2) No');
    expect(fitToChannel(message, { buttons: false, maxTextLength: 100, ratePerSecond: 1 })).toEqual([{ text: 'Coming?\n1) Yes  2) No', language: undefined }]);
    expect(fitToChannel(message, { buttons: true, maxTextLength: 100, ratePerSecond: 1 })[0]!.choices).toHaveLength(2);
  });

  test('long texts split at paragraphs, then lines, then words', () => {
    const paragraphs = `${'a'.repeat(60)}\n\n${'b'.repeat(60)}`;
    expect(splitText(paragraphs, 100)).toEqual(['a'.repeat(60), 'b'.repeat(60)]);
    const words = Array.from({ length: 50 }, (_, i) => `word${i}`).join(' ');
    const parts = splitText(words, 40);
    expect(parts.every((part) => part.length <= 40)).toBe(true);
    expect(parts.join(' ')).toBe(words);
    expect(splitText('x'.repeat(250), 100)).toEqual(['x'.repeat(100), 'x'.repeat(100), 'x'.repeat(50)]);
  });
});

describe('group commit', () => {
  test('a write alone goes at once; writes arriving meanwhile go together in the next one; a failure reaches its own batch only', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const writer = new GroupCommit<number>(async (items) => {
      batches.push(items);
      if (items.includes(99)) throw new Error('disk full');
      await new Promise<void>((resolve) => (release = resolve));
    });
    const first = writer.add(1);
    const waiting = [writer.add(2), writer.add(3)];
    expect(batches).toEqual([[1]]);
    release();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1], [2, 3]]);
    release();
    await Promise.all(waiting);
    await expect(writer.add(99)).rejects.toThrow('disk full');
    const after = writer.add(4);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await after;
    expect(batches).toEqual([[1], [2, 3], [99], [4]]);
  });
});

describe('rate limiter with a pace per address', () => {
  test("a chat that must wait does not hold up the others; the overall pace still holds", () => {
    const now = 1000;
    const limiter = new RateLimiter({ perSecond: 10, addressIntervalMs: () => 1000 }, () => now);
    // Two messages to chat A, then three to others: B, C, D go in the slots before A's second.
    const waits = [limiter.reserve('A'), limiter.reserve('A'), limiter.reserve('B'), limiter.reserve('C'), limiter.reserve('D')];
    expect(waits).toEqual([0, 1000, 100, 200, 300]);
    const times = [...waits].sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100);
  });
});
