// Configuration: read from the environment once (and from `.env` when present),
// validated with one-line errors naming the variable, then passed down.
// Nothing else in the engine reads process.env.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { readFileSync } from 'node:fs';
import { parseQuietHours } from './delivery/quiet-hours.ts';
import { errors } from './errors.ts';
import { parseKey } from './store/cipher.ts';
import { validTimezone } from './format.ts';

export const DEFAULTS = {
  dataDir: './.tocsin',
  host: '127.0.0.1',
  port: 3000,
  flowsDir: './flows',
  localesDir: './locales',
  defaultLanguage: 'en',
  telegramApiRoot: 'https://api.telegram.org',
  telegramRateLimit: 30,
  /** E-mails per second (EMAIL_RATE_LIMIT). */
  emailRateLimit: 5,
  slackApiUrl: 'https://slack.com/api/',
  whatsappChromiumPath: '/usr/bin/chromium',
  /** One WhatsApp message every this many seconds (plus up to half as much at random). */
  whatsappSecondsPerMessage: 3,
  logLevel: 'info',
  /** No bulk message or reminder between these local hours (QUIET_HOURS=21-8; 0-0 turns it off). */
  quietHours: { start: 21, end: 8 },
  /** The timezone of contacts whose own is unknown (quiet hours, times in texts). */
  defaultTimezone: 'UTC',
  /** A reminder more than this late (the engine was down) is skipped rather than sent. */
  reminderGraceMs: 30 * 60_000,
  /** Longer inbound texts are cut to this many characters (and a warning is logged). */
  maxInboundText: 8000,
  delivery: {
    batchSize: 50,
    /** How often an idle worker looks for due messages written by other processes. */
    pollMs: 250,
    maxAttempts: 10,
    /** Exponential backoff: base * 2^(attempt-1), capped, with full jitter. */
    backoffBaseMs: 1000,
    backoffMaxMs: 15 * 60 * 1000,
    /** A message claimed longer ago than this by a process that died is sent again. */
    stuckAfterMs: 5 * 60 * 1000,
    sendTimeoutMs: 30_000,
  },
  /** Inbound messages stored but not processed (a crash) are picked up after this long. */
  inboundSweepAfterMs: 30_000,
  shutdownTimeoutMs: 10_000,
};

export type DatabaseConfig =
  | { kind: 'embedded'; dataDir: string }
  | { kind: 'memory' }
  | { kind: 'postgres'; url: string };

export interface Config {
  database: DatabaseConfig;
  dataDir: string;
  host: string;
  port: number;
  publicUrl: string;
  /** Whether PUBLIC_URL was set (webhook modes need a real public address). */
  publicUrlSet: boolean;
  flowsDir: string;
  localesDir: string;
  defaultLanguage: string;
  adminToken?: string;
  logLevel: string;
  maxInboundText: number;
  telegram?: { token: string; apiRoot: string; webhookSecret?: string; rateLimit: number };
  slack?: { botToken: string; signingSecret: string; apiUrl: string; organizers: string[]; organizersChannel?: string; notifyChannel?: string; appToken?: string };
  whatsapp?: { chromiumPath: string; secondsPerMessage: number };
  email?: {
    smtpUrl: string;
    from: string;
    inboundPort?: number;
    /** Where replies and mailto: unsubscribes go (the inbound receiver's address). */
    replyTo?: string;
    ratePerSecond: number;
    unsubscribeSecret: string;
    organization: { name: string; address: string };
    dkim?: { domainName: string; keySelector: string; privateKey: string };
  };
  delivery: typeof DEFAULTS.delivery;
  quietHours: { start: number; end: number };
  /** Message texts older than this many days are scrubbed (unset: kept). */
  retentionDays?: number;
  /** Encryption at rest: the current key, and old keys still readable (during a rotation). */
  encryption?: { key?: Buffer; oldKeys: Buffer[] };
  defaultTimezone: string;
  reminderGraceMs: number;
  inboundSweepAfterMs: number;
  shutdownTimeoutMs: number;
}

type Env = Record<string, string | undefined>;

/** The environment, with `.env` (in the working directory) filling what is not set. */
export function readEnvironment(env: Env = process.env, cwd = process.cwd()): Env {
  const file = resolve(cwd, '.env');
  if (!existsSync(file)) return env;
  return { ...parseDotenv(readFileSync(file)), ...env };
}

export function loadConfig(env: Env = readEnvironment()): Config {
  const get = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const dataDir = resolve(get('TOCSIN_DATA_DIR') ?? DEFAULTS.dataDir);
  const host = get('HOST') ?? DEFAULTS.host;
  const port = parsePort('PORT', get('PORT')) ?? DEFAULTS.port;
  const logLevel = oneOf('LOG_LEVEL', get('LOG_LEVEL'), ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) ?? DEFAULTS.logLevel;

  const config: Config = {
    database: parseDatabase(get('DATABASE_URL'), dataDir),
    dataDir,
    host,
    port,
    publicUrl: httpUrl('PUBLIC_URL', get('PUBLIC_URL')) ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    publicUrlSet: get('PUBLIC_URL') !== undefined,
    flowsDir: resolve(get('FLOWS_DIR') ?? DEFAULTS.flowsDir),
    localesDir: resolve(get('LOCALES_DIR') ?? DEFAULTS.localesDir),
    defaultLanguage: languageCode('DEFAULT_LANGUAGE', get('DEFAULT_LANGUAGE')) ?? DEFAULTS.defaultLanguage,
    adminToken: get('ADMIN_TOKEN'),
    logLevel,
    maxInboundText: DEFAULTS.maxInboundText,
    delivery: { ...DEFAULTS.delivery },
    quietHours: quietHours(get('QUIET_HOURS')) ?? DEFAULTS.quietHours,
    defaultTimezone: timezone('DEFAULT_TIMEZONE', get('DEFAULT_TIMEZONE')) ?? DEFAULTS.defaultTimezone,
    reminderGraceMs: DEFAULTS.reminderGraceMs,
    retentionDays: positiveNumber('TOCSIN_RETENTION_DAYS', get('TOCSIN_RETENTION_DAYS')),
    encryption: encryptionKeys(get('TOCSIN_ENCRYPTION_KEY'), get('TOCSIN_OLD_ENCRYPTION_KEYS')),
    inboundSweepAfterMs: DEFAULTS.inboundSweepAfterMs,
    shutdownTimeoutMs: DEFAULTS.shutdownTimeoutMs,
  };

  const telegramToken = get('TELEGRAM_BOT_TOKEN');
  if (telegramToken) {
    if (!/^\d+:[\w-]+$/.test(telegramToken)) throw errors.badVariable('TELEGRAM_BOT_TOKEN', telegramToken, 'a token like 123456:ABC-DEF from @BotFather');
    config.telegram = {
      token: telegramToken,
      apiRoot: httpUrl('TELEGRAM_API_ROOT', get('TELEGRAM_API_ROOT')) ?? DEFAULTS.telegramApiRoot,
      webhookSecret: get('TELEGRAM_WEBHOOK_SECRET'),
      rateLimit: positiveNumber('TELEGRAM_RATE_LIMIT', get('TELEGRAM_RATE_LIMIT')) ?? DEFAULTS.telegramRateLimit,
    };
  }
  const slackToken = get('SLACK_BOT_TOKEN');
  const slackSecret = get('SLACK_SIGNING_SECRET');
  if (slackToken || slackSecret) {
    if (!slackToken) throw errors.badVariable('SLACK_BOT_TOKEN', '', 'a bot token (xoxb-...) when SLACK_SIGNING_SECRET is set');
    if (!slackSecret) throw errors.badVariable('SLACK_SIGNING_SECRET', '', 'the app signing secret when SLACK_BOT_TOKEN is set');
    config.slack = {
      botToken: slackToken,
      signingSecret: slackSecret,
      apiUrl: httpUrl('SLACK_API_URL', get('SLACK_API_URL')) ?? DEFAULTS.slackApiUrl,
      organizers: (get('SLACK_ORGANIZERS') ?? '').split(',').map((id) => id.trim()).filter(Boolean),
      organizersChannel: get('SLACK_ORGANIZERS_CHANNEL'),
      notifyChannel: get('SLACK_NOTIFY_CHANNEL'),
      appToken: get('SLACK_APP_TOKEN'),
    };
    if (config.slack.appToken && !config.slack.appToken.startsWith('xapp-')) throw errors.badVariable('SLACK_APP_TOKEN', config.slack.appToken, 'an app-level token (xapp-...) for Socket Mode');
    if (!config.slack.organizers.length && !config.slack.organizersChannel) throw errors.badVariable('SLACK_ORGANIZERS', '', 'the Slack user ids allowed to send alerts (U123,U456), or set SLACK_ORGANIZERS_CHANNEL');
  }
  if (flag('WHATSAPP_ENABLED', get('WHATSAPP_ENABLED'))) {
    config.whatsapp = {
      chromiumPath: get('WHATSAPP_CHROMIUM_PATH') ?? DEFAULTS.whatsappChromiumPath,
      secondsPerMessage: positiveNumber('WHATSAPP_SECONDS_PER_MESSAGE', get('WHATSAPP_SECONDS_PER_MESSAGE')) ?? DEFAULTS.whatsappSecondsPerMessage,
    };
  }
  const smtpUrl = get('SMTP_URL');
  if (smtpUrl) {
    if (!/^smtps?:\/\//.test(smtpUrl) || !URL.canParse(smtpUrl)) throw errors.badVariable('SMTP_URL', smtpUrl, 'smtp://user:pass@host:port');
    const from = get('EMAIL_FROM');
    if (!from) throw errors.badVariable('EMAIL_FROM', '', 'the sender address (e.g. "Our Campaign <news@example.org>") when SMTP_URL is set');
    const unsubscribeSecret = get('UNSUBSCRIBE_SECRET');
    if (!unsubscribeSecret || unsubscribeSecret.length < 16) throw errors.badVariable('UNSUBSCRIBE_SECRET', unsubscribeSecret ?? '', 'a random secret of 16 characters or more when SMTP_URL is set (it signs unsubscribe links)');
    const dkimKey = get('DKIM_PRIVATE_KEY');
    const dkimSelector = get('DKIM_SELECTOR');
    const dkimDomain = get('DKIM_DOMAIN');
    if ((dkimKey || dkimSelector || dkimDomain) && !(dkimKey && dkimSelector && dkimDomain)) throw errors.badVariable(dkimKey ? (dkimSelector ? 'DKIM_DOMAIN' : 'DKIM_SELECTOR') : 'DKIM_PRIVATE_KEY', '', 'DKIM_PRIVATE_KEY, DKIM_SELECTOR and DKIM_DOMAIN together');
    config.email = {
      smtpUrl,
      from,
      inboundPort: parsePort('SMTP_INBOUND_PORT', get('SMTP_INBOUND_PORT')),
      replyTo: get('EMAIL_REPLY_TO'),
      ratePerSecond: positiveNumber('EMAIL_RATE_LIMIT', get('EMAIL_RATE_LIMIT')) ?? DEFAULTS.emailRateLimit,
      unsubscribeSecret,
      organization: { name: get('ORG_NAME') ?? 'Tocsin', address: get('ORG_ADDRESS') ?? '' },
      dkim: dkimKey ? { domainName: dkimDomain!, keySelector: dkimSelector!, privateKey: dkimKey.replaceAll('\\n', '\n') } : undefined,
    };
  }
  return config;
}

function parseDatabase(url: string | undefined, dataDir: string): DatabaseConfig {
  if (!url) return { kind: 'embedded', dataDir };
  if (url === 'memory://') return { kind: 'memory' };
  if (/^postgres(ql)?:\/\//.test(url) && URL.canParse(url)) return { kind: 'postgres', url };
  throw errors.badVariable('DATABASE_URL', redactUrl(url), 'postgres://user:password@host:5432/database, or memory://');
}

/** A database URL without its password, fit for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

function parsePort(name: string, value: string | undefined) {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw errors.badVariable(name, value, 'a port number from 0 to 65535');
  return port;
}

function positiveNumber(name: string, value: string | undefined) {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw errors.badVariable(name, value, 'a positive number');
  return number;
}

function httpUrl(name: string, value: string | undefined) {
  if (value === undefined) return undefined;
  if (!/^https?:\/\//.test(value) || !URL.canParse(value)) throw errors.badVariable(name, value, 'an http:// or https:// URL');
  return value.replace(/\/+$/, '');
}

function languageCode(name: string, value: string | undefined) {
  if (value === undefined) return undefined;
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/.test(value)) throw errors.badVariable(name, value, 'a language code such as en, fr, ar or ru');
  return value;
}

function quietHours(value: string | undefined) {
  if (value === undefined) return undefined;
  const hours = parseQuietHours(value);
  if (!hours) throw errors.badVariable('QUIET_HOURS', value, 'two hours such as 21-8 (from 21:00 to 08:00), or 0-0 for none');
  return hours;
}

function timezone(name: string, value: string | undefined) {
  if (value === undefined) return undefined;
  if (validTimezone(value) !== value) throw errors.badVariable(name, value, 'an IANA timezone such as Europe/Paris');
  return value;
}

function flag(name: string, value: string | undefined) {
  if (value === undefined) return false;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw errors.badVariable(name, value, '1 or 0');
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: T[]) {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw errors.badVariable(name, value, `one of ${allowed.join(', ')}`);
  return value as T;
}

function encryptionKeys(key: string | undefined, oldKeys: string | undefined): Config['encryption'] {
  if (!key && !oldKeys) return undefined;
  return {
    key: key ? parseKey(key) : undefined,
    oldKeys: (oldKeys ?? '').split(',').filter((text) => text.trim()).map((text) => parseKey(text, 'TOCSIN_OLD_ENCRYPTION_KEYS')),
  };
}
