import { loadConfig, redactUrl } from '../../engine/config.ts';

describe('configuration', () => {
  test('defaults: embedded database, port 3000, English', () => {
    const config = loadConfig({});
    expect(config.database.kind).toBe('embedded');
    expect(config.port).toBe(3000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.publicUrl).toBe('http://127.0.0.1:3000');
    expect(config.defaultLanguage).toBe('en');
    expect(config.telegram).toBeUndefined();
  });

  test.each([
    [{ PORT: 'abc' }, 'PORT="abc" is not valid: expected a port number from 0 to 65535'],
    [{ PORT: '70000' }, 'PORT="70000" is not valid'],
    [{ DATABASE_URL: 'mysql://root:secret@localhost/x' }, 'DATABASE_URL="mysql://root:***@localhost/x" is not valid'],
    [{ PUBLIC_URL: 'example.org' }, 'PUBLIC_URL="example.org" is not valid: expected an http:// or https:// URL'],
    [{ DEFAULT_LANGUAGE: 'English' }, 'DEFAULT_LANGUAGE="English" is not valid'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL="loud" is not valid: expected one of'],
    [{ TELEGRAM_BOT_TOKEN: 'nope' }, 'TELEGRAM_BOT_TOKEN="nope" is not valid'],
    [{ SLACK_BOT_TOKEN: 'xoxb-1' }, 'SLACK_SIGNING_SECRET="" is not valid'],
    [{ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }, 'SLACK_ORGANIZERS="" is not valid: expected the Slack user ids allowed to send alerts'],
    [{ WHATSAPP_ENABLED: 'maybe' }, 'WHATSAPP_ENABLED="maybe" is not valid: expected 1 or 0'],
    [{ SMTP_URL: 'smtp://localhost:25' }, 'EMAIL_FROM="" is not valid'],
    [{ SMTP_URL: 'smtp://localhost:25', EMAIL_FROM: 'a@b.org' }, 'UNSUBSCRIBE_SECRET="" is not valid: expected a random secret of 16 characters or more'],
    [{ SMTP_URL: 'smtp://localhost:25', EMAIL_FROM: 'a@b.org', UNSUBSCRIBE_SECRET: 'x'.repeat(16), DKIM_SELECTOR: 's' }, 'DKIM_PRIVATE_KEY="" is not valid'],
    [{ QUIET_HOURS: 'nights' }, 'QUIET_HOURS="nights" is not valid'],
    [{ DEFAULT_TIMEZONE: 'Mars/Base' }, 'DEFAULT_TIMEZONE="Mars/Base" is not valid'],
  ])('%j is refused in one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
    try {
      loadConfig(env);
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
      expect((error as Error).message).not.toContain(':secret@');
    }
  });

  test('database URLs', () => {
    expect(loadConfig({ DATABASE_URL: 'memory://' }).database).toEqual({ kind: 'memory' });
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/tocsin' }).database).toEqual({ kind: 'postgres', url: 'postgres://u:p@db:5432/tocsin' });
    expect(redactUrl('postgres://u:p@db:5432/tocsin')).toBe('postgres://u:***@db:5432/tocsin');
  });

  test('channels are enabled by their variables', () => {
    const config = loadConfig({ TELEGRAM_BOT_TOKEN: '123:abc', TELEGRAM_API_ROOT: 'http://127.0.0.1:9/', WHATSAPP_ENABLED: '1' });
    expect(config.telegram).toEqual({ token: '123:abc', apiRoot: 'http://127.0.0.1:9', webhookSecret: undefined, rateLimit: 30 });
    expect(config.whatsapp).toEqual({ chromiumPath: '/usr/bin/chromium', secondsPerMessage: 3 });
  });
});
