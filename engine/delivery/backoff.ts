// Exponential backoff with full jitter: a random wait up to base * 2^(attempt-1), capped.
// Jitter keeps many failed sends from retrying in the same instant.
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
