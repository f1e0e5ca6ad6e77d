// Inbound text is stored as typed, with three exceptions PostgreSQL or people need:
// NUL characters (PostgreSQL text cannot hold them) and broken surrogate pairs are
// replaced, and text longer than the limit is cut (the caller logs it).
export function sanitizeText(text: string, maxLength: number): { text: string; truncated: boolean } {
  let clean = text.toWellFormed().replaceAll('\u0000', '\uFFFD');
  const truncated = clean.length > maxLength;
  if (truncated) {
    clean = clean.slice(0, maxLength);
    // Do not leave half of a surrogate pair at the cut.
    if (/[\uD800-\uDBFF]$/.test(clean)) clean = clean.slice(0, -1);
  }
  return { text: clean, truncated };
}
