// The store's schema, as MikroORM entities. Migrations in `migrations/` create exactly
// this (a test compares them). Hot paths query these tables with plain SQL through the
// same connection; the entities serve the schema, migrations and the less busy code.
import { defineEntity, p } from '@mikro-orm/core';

const createdAt = () => p.datetime().defaultRaw('now()');

export const Contact = defineEntity({
  name: 'Contact',
  tableName: 'contacts',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    name: p.text().nullable(),
    /** The language the contact chose; the channel's hint and the default come after it. */
    language: p.text().nullable(),
    timezone: p.text().nullable(),
    /** active | erased */
    status: p.text().default('active'),
    fields: p.json<Record<string, unknown>>().defaultRaw(`'{}'`),
    createdAt: createdAt(),
    updatedAt: createdAt(),
    lastSeenAt: p.datetime().nullable(),
  },
});

/** An address on a channel (`telegram:123`). A contact may have several, one per channel or more. */
export const Identity = defineEntity({
  name: 'Identity',
  tableName: 'identities',
  uniques: [{ name: 'identities_channel_address_unique', properties: ['channel', 'address'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    contact: () => p.manyToOne(Contact).deleteRule('cascade').index('identities_contact_id_index'),
    channel: p.text(),
    /** The address, or with TOCSIN_ENCRYPTION_KEY its blind index (what lookups compare). */
    address: p.text(),
    /** With TOCSIN_ENCRYPTION_KEY: the address, sealed (what delivery opens). */
    addressSealed: p.text().nullable(),
    displayName: p.text().nullable(),
    /** Set by STOP (or a block): nothing more is sent on this channel until START. */
    stoppedAt: p.datetime().nullable(),
    /** E-mail: the address bounced (at once for a hard bounce, after 3 soft ones); never sent to. */
    heldAt: p.datetime().nullable(),
    /** E-mail: soft bounces in a row. */
    bounces: p.integer().default(0),
    createdAt: createdAt(),
  },
});

export const Group = defineEntity({
  name: 'Group',
  tableName: 'groups',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    name: p.text().unique('groups_name_unique'),
    createdAt: createdAt(),
  },
});

export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  properties: {
    contact: () => p.manyToOne(Contact).primary().deleteRule('cascade'),
    group: () => p.manyToOne(Group).primary().deleteRule('cascade').index('memberships_group_id_index'),
    joinedAt: createdAt(),
  },
});

/** The consent ledger: every grant and withdrawal, per channel, never updated. */
export const Consent = defineEntity({
  name: 'Consent',
  tableName: 'consents',
  indexes: [{ name: 'consents_contact_channel_index', properties: ['contact', 'channel', 'id'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    contact: () => p.manyToOne(Contact).deleteRule('cascade'),
    channel: p.text(),
    /** granted | withdrawn */
    status: p.text(),
    /** flow:<id> | stop | start | import:<file> | ... */
    source: p.text(),
    wording: p.text().nullable(),
    createdAt: createdAt(),
  },
});

export const Conversation = defineEntity({
  name: 'Conversation',
  tableName: 'conversations',
  uniques: [{ name: 'conversations_one_active_per_contact', properties: ['contact'], where: `status = 'active'` }],
  indexes: [{ name: 'conversations_expiry_index', properties: ['expiresAt'], where: `status = 'active'` }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    contact: () => p.manyToOne(Contact).deleteRule('cascade'),
    flow: p.text(),
    flowVersion: p.text(),
    step: p.text(),
    /** active | completed | expired | ended */
    status: p.text(),
    vars: p.json<Record<string, unknown>>().defaultRaw(`'{}'`),
    answers: p.json<Record<string, unknown>>().defaultRaw(`'{}'`),
    retries: p.integer().default(0),
    expiresAt: p.datetime().nullable(),
    /** Optimistic lock: every update checks and bumps it. */
    version: p.integer().default(1),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
});

/** Messages in and out. Inbound rows are also the inbox: `received` until processed. */
export const Message = defineEntity({
  name: 'Message',
  tableName: 'messages',
  uniques: [{ name: 'messages_inbound_dedupe', properties: ['channel', 'channelMessageId'], where: `direction = 'in'` }],
  indexes: [
    { name: 'messages_contact_index', properties: ['contact', 'id'] },
    { name: 'messages_unprocessed_index', properties: ['contact', 'id'], where: `status = 'received'` },
  ],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    contact: () => p.manyToOne(Contact).deleteRule('cascade'),
    conversationId: p.bigint('number').nullable(),
    /** in | out */
    direction: p.text(),
    channel: p.text(),
    address: p.text(),
    channelMessageId: p.text().nullable(),
    text: p.text().nullable(),
    payload: p.json<Record<string, unknown>>().nullable(),
    /** in: received | processed; out: sent */
    status: p.text(),
    createdAt: createdAt(),
    processedAt: p.datetime().nullable(),
  },
});

/** What waits to be sent. Claimed with FOR UPDATE SKIP LOCKED by any engine process. */
export const Outbox = defineEntity({
  name: 'Outbox',
  tableName: 'outbox',
  indexes: [
    { name: 'outbox_due_index', properties: ['channel', 'priority', 'id'], where: `status = 'pending'` },
    { name: 'outbox_unsent_per_contact_index', properties: ['contact', 'channel', 'id'], where: `status in ('pending', 'sending')` },
    { name: 'outbox_sending_index', properties: ['claimedAt'], where: `status = 'sending'` },
    { name: 'outbox_broadcast_index', properties: ['broadcastId', 'status'], where: `broadcast_id is not null` },
  ],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    contact: () => p.manyToOne(Contact).deleteRule('cascade'),
    conversationId: p.bigint('number').nullable(),
    /** The inbound message this answers (for tracing and for `tocsin chat`). */
    replyTo: p.bigint('number').nullable().index('outbox_reply_to_index'),
    channel: p.text(),
    address: p.text(),
    /** reply | notice | bulk */
    kind: p.text(),
    /** 0 for replies, higher for bulk: replies always go first. */
    priority: p.smallint().default(0),
    body: p.json<Record<string, unknown>>(),
    /** pending | sending | sent | failed | cancelled */
    status: p.text().default('pending'),
    attempts: p.integer().default(0),
    nextAttemptAt: createdAt(),
    claimedAt: p.datetime().nullable(),
    claimedBy: p.text().nullable(),
    lastError: p.text().nullable(),
    channelMessageId: p.text().nullable(),
    createdAt: createdAt(),
    sentAt: p.datetime().nullable(),
    /** Set on the rows a broadcast materialized. */
    broadcastId: p.bigint('number').nullable(),
  },
});

/** Every version of every flow file the engine has run, by content hash. */
export const FlowVersion = defineEntity({
  name: 'FlowVersion',
  tableName: 'flow_versions',
  uniques: [{ name: 'flow_versions_flow_version_unique', properties: ['flow', 'version'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    flow: p.text(),
    version: p.text(),
    source: p.text(),
    createdAt: createdAt(),
  },
});

export const Event = defineEntity({
  name: 'Event',
  tableName: 'events',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    /** Short name for deep links and commands (`town-hall`). */
    slug: p.text().unique('events_slug_unique'),
    /** Per language: `{"en": "Town hall", "fr": "Assemblée"}`; the default language is the fallback. */
    title: p.json<Record<string, string>>(),
    description: p.json<Record<string, string>>().nullable(),
    startsAt: p.datetime(),
    endsAt: p.datetime().nullable(),
    /** IANA timezone the event happens in (`Europe/Paris`). */
    timezone: p.text(),
    place: p.text().nullable(),
    latitude: p.double().nullable(),
    longitude: p.double().nullable(),
    capacity: p.integer().nullable(),
    rsvpDeadline: p.datetime().nullable(),
    /** Seconds before the start when those who said yes or maybe are reminded. */
    reminders: p.json<number[]>().defaultRaw(`'[86400, 7200]'`),
    /** A flow started for attendees after the event (e.g. `followup`), or none. */
    followupFlow: p.text().nullable(),
    /** scheduled | cancelled */
    status: p.text().default('scheduled'),
    createdAt: createdAt(),
  },
});

/** One answer per contact and event; a `yes` beyond capacity waits (`waitlisted_at`). */
export const Rsvp = defineEntity({
  name: 'Rsvp',
  tableName: 'rsvps',
  uniques: [{ name: 'rsvps_event_contact_unique', properties: ['event', 'contact'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    event: () => p.manyToOne(Event).deleteRule('cascade'),
    contact: () => p.manyToOne(Contact).deleteRule('cascade').index('rsvps_contact_id_index'),
    /** yes | no | maybe */
    answer: p.text(),
    waitlistedAt: p.datetime().nullable(),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
});

/** Survey answers, typed, one per contact, flow and question (answering again replaces). */
export const SurveyAnswer = defineEntity({
  name: 'SurveyAnswer',
  tableName: 'survey_answers',
  uniques: [{ name: 'survey_answers_contact_question_unique', properties: ['contact', 'flow', 'question'] }],
  indexes: [{ name: 'survey_answers_flow_question_index', properties: ['flow', 'question'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    /** Kept (as null) when the contact is erased, so that totals stay right. */
    contact: () => p.manyToOne(Contact).nullable().deleteRule('set null'),
    conversationId: p.bigint('number').nullable(),
    flow: p.text(),
    question: p.text(),
    /** choice | multi | number | text | yes_no | date | email | phone | ... */
    type: p.text(),
    valueText: p.text().nullable(),
    valueNumber: p.double().nullable(),
    valueChoices: p.json<string[]>().nullable(),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
});

/** The WhatsApp Web session (whatsapp-web.js RemoteAuth), so a login survives restarts and moves with the database. */
export const WhatsappSession = defineEntity({
  name: 'WhatsappSession',
  tableName: 'whatsapp_sessions',
  properties: {
    session: p.text().primary(),
    data: p.blob(),
    updatedAt: createdAt(),
  },
});

/** An alert to a segment: what, to whom, by whom, and how far it got. */
export const Broadcast = defineEntity({
  name: 'Broadcast',
  tableName: 'broadcasts',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    /** slack:U123 | cli | api */
    createdBy: p.text(),
    segment: p.text(),
    /** { template?, text?, question?, questionTemplate?, vars? } */
    message: p.json<Record<string, unknown>>(),
    /** previewed | running | cancelled | done */
    status: p.text().default('previewed'),
    recipients: p.integer().default(0),
    /** Where its progress is shown in Slack (channel and message ts). */
    slackChannel: p.text().nullable(),
    slackTs: p.text().nullable(),
    createdAt: createdAt(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
  },
});

/** What organizers did: who, when, what, how many. Never personal data about supporters. */
export const AuditEntry = defineEntity({
  name: 'AuditEntry',
  tableName: 'audit_log',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    actor: p.text(),
    action: p.text(),
    details: p.json<Record<string, unknown>>().defaultRaw(`'{}'`),
    createdAt: createdAt(),
  },
});

/**
 * Reminders and follow-ups, one row per event, contact and kind (`reminder:86400`,
 * `followup`). The row is written when the item is sent or skipped, in the same
 * transaction as its outbox row: the unique key is the claim, so nothing goes twice,
 * whichever engine process gets there first.
 */
export const EventReminder = defineEntity({
  name: 'EventReminder',
  tableName: 'event_reminders',
  uniques: [{ name: 'event_reminders_unique', properties: ['event', 'contact', 'kind'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    event: () => p.manyToOne(Event).deleteRule('cascade'),
    contact: () => p.manyToOne(Contact).deleteRule('cascade').index('event_reminders_contact_id_index'),
    kind: p.text(),
    dueAt: p.datetime(),
    /** sent | skipped (too late: the engine was down past the grace window) */
    status: p.text(),
    createdAt: createdAt(),
  },
});

/** Encryption at rest: the key the data is sealed with (its id only; the key never enters the database). */
export const EncryptionKey = defineEntity({
  name: 'EncryptionKey',
  tableName: 'encryption_keys',
  properties: {
    keyId: p.text().primary(),
    createdAt: createdAt(),
    /** Set when `tocsin keys rotate` moved every value to a newer key. */
    retiredAt: p.datetime().nullable(),
  },
});

export const entities = [Contact, Identity, Group, Membership, Consent, Conversation, Message, Outbox, FlowVersion, Event, Rsvp, SurveyAnswer, WhatsappSession, Broadcast, AuditEntry, EventReminder, EncryptionKey];
