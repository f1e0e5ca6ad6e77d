// Encryption at rest (opt-in, TOCSIN_ENCRYPTION_KEY). Personal data is sealed with
// AES-256-GCM, a fresh 12-byte nonce per value; what the engine must find by equality
// (an identity by its address, a redelivered message by its id) is stored as a keyed
// blind index (HMAC-SHA-256) instead. Both carry the key's id: a value sealed under an
// old key is opened with that key while `tocsin keys rotate` re-seals everything.
//
// Without a key the cipher is the identity: values are stored as they are.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { TocsinError } from '../errors.ts';

const SEALED = 'enc:v1:';
const INDEXED = 'idx:v1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

interface Key {
  id: string;
  encryption: Buffer;
  index: Buffer;
}

/** Reads a key written as 64 hex digits or as base64 (32 bytes either way). */
export function parseKey(text: string, variable = 'TOCSIN_ENCRYPTION_KEY'): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) return Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  throw new TocsinError(`${variable} must be 32 random bytes written as 64 hex digits or base64 (make one with: npx tocsin keys generate)`);
}

/** A new random key, as base64. */
export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

function deriveKey(secret: Buffer): Key {
  // One secret, three independent keys: knowing the id or an index reveals nothing of the others.
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `tocsin ${info}`, 32));
  return { id: derive('key id').subarray(0, 4).toString('hex'), encryption: derive('encryption'), index: derive('blind index') };
}

export class Cipher {
  /** No key: nothing is sealed, values are stored as they are. */
  static readonly none = new Cipher(undefined, []);

  static fromSecrets(current: Buffer | undefined, old: Buffer[] = []): Cipher {
    return current || old.length ? new Cipher(current && deriveKey(current), old.map(deriveKey)) : Cipher.none;
  }

  private readonly keys = new Map<string, Key>();

  private constructor(
    private readonly current: Key | undefined,
    old: Key[],
  ) {
    for (const key of [...old, ...(current ? [current] : [])]) this.keys.set(key.id, key);
  }

  /** Whether values are sealed on write. */
  get enabled(): boolean {
    return !!this.current;
  }

  /** The id of the key values are sealed with now (8 hex digits; reveals nothing of the key). */
  get keyId(): string | undefined {
    return this.current?.id;
  }

  /** Seals a text (nothing to do without a key, or for null). */
  seal(value: string): string;
  seal(value: string | null | undefined): string | null;
  seal(value: string | null | undefined): string | null {
    if (value == null) return null;
    const key = this.current;
    if (!key) return value;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.encryption, nonce);
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return `${SEALED}${key.id}:${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** The text of a sealed value; a value that was never sealed comes back as it is. */
  open(value: string): string;
  open(value: string | null | undefined): string | null;
  open(value: string | null | undefined): string | null {
    if (value == null || !this.keys.size || !value.startsWith(SEALED)) return value ?? null;
    const rest = value.slice(SEALED.length);
    const colon = rest.indexOf(':');
    const key = this.keys.get(rest.slice(0, colon));
    if (colon < 0 || !key) throw new TocsinError(`a value is sealed with key ${rest.slice(0, colon) || '?'}, which is not among the configured keys (${[...this.keys.keys()].join(', ')}): set the right TOCSIN_ENCRYPTION_KEY`);
    const bytes = Buffer.from(rest.slice(colon + 1), 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.encryption, bytes.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new TocsinError(`a value sealed with key ${key.id} does not decrypt: the data was altered or damaged`);
    }
  }

  /**
   * What the database stores to find `value` by equality: the value itself without a key,
   * else a keyed HMAC of it. `kind` separates the domains (the same text as a Telegram chat
   * id and as a WhatsApp number gives unrelated indexes).
   */
  index(kind: string, value: string): string {
    const key = this.current;
    if (!key) return value;
    return `${INDEXED}${key.id}:${createHmac('sha256', key.index).update(`${kind}\u0000${value}`).digest('base64url')}`;
  }

  /**
   * The sealed copy an identity keeps next to its blind index; none without a key (the
   * address itself is then what is stored).
   */
  sealedAddress(address: string): string | null {
    return this.current ? this.seal(address) : null;
  }

  /** Seals a JSON value (conversation variables, a queued message). */
  sealJson<T>(value: T): T | { sealed: string } {
    return this.current ? { sealed: this.seal(JSON.stringify(value)) } : value;
  }

  /** Opens what `sealJson` wrote; anything else comes back as it is. */
  openJson<T>(value: T | { sealed: string }): T {
    const sealed = (value as { sealed?: unknown } | null)?.sealed;
    return typeof sealed === 'string' && Object.keys(value as object).length === 1 ? (JSON.parse(this.open(sealed)) as T) : (value as T);
  }

  /** Custom fields: names stay readable, each value is sealed on its own (a flow sets one at a time). */
  sealFields(fields: Record<string, unknown>): Record<string, unknown> {
    if (!this.current) return fields;
    return Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, this.seal(JSON.stringify(value))]));
  }

  openFields(fields: Record<string, unknown> | null | undefined): Record<string, unknown> {
    if (!fields || !this.keys.size) return fields ?? {};
    return Object.fromEntries(
      Object.entries(fields).map(([name, value]) => [name, typeof value === 'string' && value.startsWith(SEALED) ? JSON.parse(this.open(value)) : value]),
    );
  }

  /** One custom field's value as stored (`sealFields` for a single value). */
  sealFieldValue(value: unknown): unknown {
    return this.current ? this.seal(JSON.stringify(value ?? null)) : (value ?? null);
  }
}
