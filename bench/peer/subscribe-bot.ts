// A BASELINE FOR THE BENCHMARK, NOT PRODUCT CODE. The subscribe conversation (ask the
// name → ask the language, with buttons → confirm) written as a Node developer would
// without Tocsin: telegraf, a WizardScene, the session in PostgreSQL through
// @telegraf/session's store, the profile saved at the end. `npm run bench` drives it with
// the same simulated users, through the same stand-in Bot API, as the engine.
//
// It runs in a process of its own (bench/peer.ts starts it): PEER_DATABASE_URL,
// TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT, PORT; it logs {"msg":"listening","url":…} once
// its webhook is up. It has none of what the engine adds: no message log, no
// deduplication, no outbox (a reply that fails is lost), no STOP, no consent, one language.
import { createServer } from 'node:http';
import { Postgres } from '@telegraf/session/pg';
import pg from 'pg';
import { Markup, Scenes, session, Telegraf } from 'telegraf';

interface Answers {
  name?: string;
}

type Context = Scenes.WizardContext;

const LANGUAGES: Record<string, string> = { en: 'English', fr: 'Français', ar: 'العربية', ru: 'Русский' };

const pool = new pg.Pool({ connectionString: process.env.PEER_DATABASE_URL, max: 10 });
await pool.query(`create table if not exists supporters (chat_id bigint primary key, name text not null, language text not null, joined_at timestamptz not null default now())`);

const textOf = (ctx: Context) => (ctx.message && 'text' in ctx.message ? ctx.message.text.trim() : '');
const answers = (ctx: Context) => ctx.wizard.state as Answers;

const subscribe = new Scenes.WizardScene<Context>(
  'subscribe',
  async (ctx) => {
    await ctx.reply('Welcome! What is your name?');
    return ctx.wizard.next();
  },
  async (ctx) => {
    const name = textOf(ctx);
    if (!name || name.length > 100) return ctx.reply('Please tell me your name (up to 100 characters).');
    answers(ctx).name = name;
    await ctx.reply('Which language would you like us to write to you in?', Markup.inlineKeyboard(Object.entries(LANGUAGES).map(([code, label]) => Markup.button.callback(label, `lang:${code}`))));
    return ctx.wizard.next();
  },
  async (ctx) => {
    const data = ctx.callbackQuery && 'data' in ctx.callbackQuery ? ctx.callbackQuery.data : undefined;
    if (data) await ctx.answerCbQuery();
    const typed = textOf(ctx).toLowerCase();
    const language = data?.startsWith('lang:') ? data.slice(5) : Object.keys(LANGUAGES).find((code) => code === typed || LANGUAGES[code]!.toLowerCase() === typed);
    if (!language || !LANGUAGES[language]) return ctx.reply('Please choose one of the languages.');
    const { name } = answers(ctx);
    await pool.query(
      `insert into supporters (chat_id, name, language) values ($1, $2, $3)
       on conflict (chat_id) do update set name = excluded.name, language = excluded.language`,
      [ctx.chat!.id, name, language],
    );
    await ctx.reply(`Thank you, ${name}. We will write to you in ${LANGUAGES[language]}.`);
    return ctx.scene.leave();
  },
);

const bot = new Telegraf<Context>(process.env.TELEGRAM_BOT_TOKEN!, { telegram: { apiRoot: process.env.TELEGRAM_API_ROOT!, webhookReply: false } });
bot.use(session({ store: Postgres<Scenes.WizardSession>({ pool, table: 'telegraf_sessions' }) }));
bot.use(new Scenes.Stage<Context>([subscribe]).middleware());
bot.start((ctx) => ctx.scene.enter('subscribe'));
bot.hears(/^(join|subscribe)$/i, (ctx) => ctx.scene.enter('subscribe'));
bot.on('message', (ctx) => ctx.reply('Write JOIN to join.'));
bot.catch((error) => console.error(JSON.stringify({ msg: 'update failed', error: (error as Error).message })));

const server = createServer(bot.webhookCallback('/webhook'));
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}` }));
});
const stop = () => {
  server.close();
  void pool.end().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
