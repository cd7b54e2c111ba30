import { prepareCounterBatchInsert } from './counter-batches.js';
import type { Db } from './database.js';

/**
 * Schema versions, applied in order inside one transaction each; never edit a released step, add a new one.
 * Limits are stored as: NULL = use the server default, -1 = unlimited, n >= 0 = n per hour.
 * Directory ids are AUTOINCREMENT: counters, journal rows and events refer to objects by id, and an id that
 * came back after a delete would hand a new object the history of an old one.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
  /** Moves data SQL alone cannot, after `sql`, in the same transaction. */
  moveData?: (db: Db) => void;
}

export const MIGRATIONS: ReadonlyArray<Migration> = [
  {
    version: 1,
    description: 'settings, directory, counter journal, over-limit events',
    sql: `
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      -- Bumped on every change of settings or directory, so a running daemon notices changes made elsewhere.
      CREATE TABLE revisions (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      );
      INSERT INTO revisions (name, value) VALUES ('settings', 0), ('directory', 0);

      CREATE TABLE subscriptions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT NOT NULL UNIQUE,
        owner       TEXT NOT NULL,
        reseller    TEXT,
        system_user TEXT,
        limit_value INTEGER CHECK (limit_value IS NULL OR limit_value >= -1)
      );
      CREATE TABLE domains (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
        name            TEXT NOT NULL UNIQUE,
        limit_value     INTEGER CHECK (limit_value IS NULL OR limit_value >= -1)
      );
      CREATE INDEX domains_subscription ON domains(subscription_id);
      CREATE TABLE mailboxes (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        domain_id   INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
        address     TEXT NOT NULL UNIQUE,
        limit_value INTEGER CHECK (limit_value IS NULL OR limit_value >= -1)
      );
      CREATE INDEX mailboxes_domain ON mailboxes(domain_id);

      -- Accepted budget per object and second; the daemon's counters are rebuilt from it after a restart.
      -- level: 0 mailbox, 1 domain, 2 subscription (see counterKey).
      CREATE TABLE counter_journal (
        counter_key INTEGER NOT NULL,
        second      INTEGER NOT NULL,
        amount      INTEGER NOT NULL,
        PRIMARY KEY (counter_key, second)
      ) WITHOUT ROWID;
      CREATE INDEX counter_journal_second ON counter_journal(second);

      CREATE TABLE over_limit_events (
        id              INTEGER PRIMARY KEY,
        at_ms           INTEGER NOT NULL,
        level           TEXT NOT NULL,
        object_id       INTEGER NOT NULL,
        object_name     TEXT NOT NULL,
        sender          TEXT,
        sasl_username   TEXT,
        recipient_count INTEGER NOT NULL,
        queue_id        TEXT,
        client_address  TEXT,
        action          TEXT NOT NULL,
        reason          TEXT NOT NULL
      );
      CREATE INDEX over_limit_events_at ON over_limit_events(at_ms);
      CREATE INDEX over_limit_events_object ON over_limit_events(level, object_id);
    `,
  },
  {
    version: 2,
    description: 'standalone logins, audit log, customer permission',
    sql: `
      -- Logins of the standalone UI (inside Plesk, Plesk itself authenticates people).
      CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        login         TEXT NOT NULL UNIQUE,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'reseller', 'customer')),
        password_hash TEXT NOT NULL,
        created_ms    INTEGER NOT NULL
      );

      -- Who changed what and when; old and new values as JSON text.
      CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY,
        at_ms       INTEGER NOT NULL,
        actor_login TEXT NOT NULL,
        actor_role  TEXT NOT NULL,
        action      TEXT NOT NULL,
        level       TEXT,
        object_name TEXT,
        old_value   TEXT,
        new_value   TEXT
      );
      CREATE INDEX audit_log_object ON audit_log(level, object_name, at_ms);
      CREATE INDEX audit_log_at ON audit_log(at_ms);
    `,
  },
  {
    version: 3,
    description: 'hourly statistics, the sender chain of over-limit events',
    sql: `
      -- Counted amounts per object and clock hour, rolled up from the counter journal once rows leave the window.
      CREATE TABLE hourly_sent (
        counter_key INTEGER NOT NULL,
        hour        INTEGER NOT NULL,
        amount      INTEGER NOT NULL,
        PRIMARY KEY (counter_key, hour)
      ) WITHOUT ROWID;
      -- The same for the whole server (the sum over subscriptions), so the server chart needs no scan.
      CREATE TABLE hourly_server_sent (
        hour   INTEGER PRIMARY KEY,
        amount INTEGER NOT NULL
      );

      -- A refused message is blocked for every level of its sender's chain, not only for the one that tripped.
      ALTER TABLE over_limit_events ADD COLUMN mailbox_id INTEGER;
      ALTER TABLE over_limit_events ADD COLUMN domain_id INTEGER;
      ALTER TABLE over_limit_events ADD COLUMN subscription_id INTEGER;
      CREATE INDEX over_limit_events_mailbox ON over_limit_events(mailbox_id, at_ms);
      CREATE INDEX over_limit_events_domain ON over_limit_events(domain_id, at_ms);
      CREATE INDEX over_limit_events_subscription ON over_limit_events(subscription_id, at_ms);
    `,
  },
  {
    version: 4,
    description: 'held mail, compromised mailboxes, notification contacts and state',
    sql: `
      -- Messages in Postfix's hold queue because of a limit. queue_id is only unique among messages still held:
      -- Postfix reuses queue ids over time. charged_* is the innermost object the message counts against when it
      -- is released; tripped_* the level that held it.
      CREATE TABLE held_messages (
        id              INTEGER PRIMARY KEY,
        queue_id        TEXT NOT NULL,
        held_at_ms      INTEGER NOT NULL,
        source          TEXT NOT NULL CHECK (source IN ('smtpd', 'milter', 'compromised')),
        sender          TEXT,
        sasl_username   TEXT,
        charged_level   TEXT,
        charged_name    TEXT,
        tripped_level   TEXT NOT NULL,
        tripped_name    TEXT NOT NULL,
        weight          INTEGER NOT NULL,
        recipient_count INTEGER NOT NULL,
        recipients      TEXT,
        reason          TEXT NOT NULL,
        status          TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'released', 'deleted', 'gone')),
        resolved_at_ms  INTEGER,
        resolved_by     TEXT
      );
      CREATE UNIQUE INDEX held_messages_queue_id ON held_messages(queue_id) WHERE status = 'held';
      CREATE INDEX held_messages_status ON held_messages(status, held_at_ms);
      CREATE INDEX held_messages_tripped ON held_messages(tripped_level, tripped_name, status);

      -- Mailboxes marked compromised: their limit before, for the one-click restore.
      CREATE TABLE compromised_mailboxes (
        address        TEXT PRIMARY KEY,
        previous_limit TEXT NOT NULL,
        marked_at_ms   INTEGER NOT NULL,
        marked_by      TEXT NOT NULL
      );

      -- Where notifications for a reseller or customer login go (Plesk keeps these addresses; the panel syncs them).
      CREATE TABLE notification_contacts (
        login   TEXT PRIMARY KEY,
        address TEXT NOT NULL
      );

      -- When an object last caused a notification: at most one per object per period.
      CREATE TABLE notifications_sent (
        level        TEXT NOT NULL,
        object_name  TEXT NOT NULL,
        last_sent_ms INTEGER NOT NULL,
        PRIMARY KEY (level, object_name)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 5,
    description: 'held mail requeued with postsuper -r keeps its new queue id',
    sql: `
      -- postsuper -r (for mail held longer than the queue lifetime) resubmits a message under a new queue id.
      ALTER TABLE held_messages ADD COLUMN requeued_as TEXT;
    `,
  },
  {
    version: 6,
    description: 'service plan values per subscription',
    sql: `
      -- The service plan a subscription follows and the plan's hourly values for its three levels, as Plesk's plan
      -- sync delivers them (NULL = the plan sets no value for that level; plan_name NULL = no plan).
      ALTER TABLE subscriptions ADD COLUMN plan_name TEXT;
      ALTER TABLE subscriptions ADD COLUMN plan_mailbox INTEGER CHECK (plan_mailbox IS NULL OR plan_mailbox >= -1);
      ALTER TABLE subscriptions ADD COLUMN plan_domain INTEGER CHECK (plan_domain IS NULL OR plan_domain >= -1);
      ALTER TABLE subscriptions ADD COLUMN plan_subscription INTEGER CHECK (plan_subscription IS NULL OR plan_subscription >= -1);
    `,
  },
  {
    version: 7,
    description: 'counter journal as one packed batch per flush',
    sql: `
      -- One row per journal flush: (counter key, second, amount) triples packed as 64-bit floats (see
      -- store/counter-batches.ts). Selected by the seconds they span, for restore, statistics and roll-up.
      CREATE TABLE counter_batches (
        id           INTEGER PRIMARY KEY,
        first_second INTEGER NOT NULL,
        last_second  INTEGER NOT NULL,
        rows         BLOB NOT NULL
      );
      CREATE INDEX counter_batches_last_second ON counter_batches(last_second);
    `,
    moveData: (db) => {
      const steps = db.prepare('SELECT counter_key, second, amount FROM counter_journal').raw().all() as Array<[number, number, number]>;
      prepareCounterBatchInsert(db)(Float64Array.from(steps.flat()));
      db.exec('DROP TABLE counter_journal');
    },
  },
  {
    version: 8,
    description: 'locks on limit values',
    sql: `
      -- Who set an object's own limit and locked it for the roles below theirs (core/limit-locks.ts); both NULL:
      -- open. Kept apart from limit_value so that directory imports and syncs, which write values, keep the lock.
      ALTER TABLE subscriptions ADD COLUMN locked_by TEXT;
      ALTER TABLE subscriptions ADD COLUMN locked_by_role TEXT CHECK (locked_by_role IS NULL OR locked_by_role IN ('admin', 'reseller'));
      ALTER TABLE domains ADD COLUMN locked_by TEXT;
      ALTER TABLE domains ADD COLUMN locked_by_role TEXT CHECK (locked_by_role IS NULL OR locked_by_role IN ('admin', 'reseller'));
      ALTER TABLE mailboxes ADD COLUMN locked_by TEXT;
      ALTER TABLE mailboxes ADD COLUMN locked_by_role TEXT CHECK (locked_by_role IS NULL OR locked_by_role IN ('admin', 'reseller'));
      -- The lock a mailbox had before it was marked compromised (the mark locks its 0): a restore brings it back.
      ALTER TABLE compromised_mailboxes ADD COLUMN previous_locked_by TEXT;
      ALTER TABLE compromised_mailboxes ADD COLUMN previous_locked_by_role TEXT;
    `,
  },
  {
    version: 9,
    description: 'held mail keeps the limit it was held at, its subject and recipients',
    sql: `
      -- The limit and the usage of the tripped level at the moment of holding, so a screen can say in people's
      -- words why a message is held (NULL in rows held before: their reason text still says it).
      ALTER TABLE held_messages ADD COLUMN tripped_limit INTEGER CHECK (tripped_limit IS NULL OR tripped_limit >= 0);
      ALTER TABLE held_messages ADD COLUMN tripped_used INTEGER CHECK (tripped_used IS NULL OR tripped_used >= 0);
      -- The subject read once from the queue file while held (the file is gone once the message left); bounded,
      -- since the sender wrote it. summary_read_at_ms: when the file was read (NULL: not yet).
      ALTER TABLE held_messages ADD COLUMN subject TEXT CHECK (subject IS NULL OR length(subject) <= 1000);
      ALTER TABLE held_messages ADD COLUMN summary_read_at_ms INTEGER;
    `,
  },
  {
    // Daily limits. Only this number changes should another step take 10 first: nothing else refers to it.
    version: 10,
    description: 'daily limits',
    sql: `
      -- Own daily (rolling 24 hours) values, encoded as limit_value (NULL = the plan's or the server default,
      -- -1 = unlimited); the lock in locked_by covers both windows of an object.
      ALTER TABLE subscriptions ADD COLUMN daily_limit_value INTEGER CHECK (daily_limit_value IS NULL OR daily_limit_value >= -1);
      ALTER TABLE domains ADD COLUMN daily_limit_value INTEGER CHECK (daily_limit_value IS NULL OR daily_limit_value >= -1);
      ALTER TABLE mailboxes ADD COLUMN daily_limit_value INTEGER CHECK (daily_limit_value IS NULL OR daily_limit_value >= -1);
      -- The service plan's daily values (NULL = the plan sets none).
      ALTER TABLE subscriptions ADD COLUMN plan_mailbox_daily INTEGER CHECK (plan_mailbox_daily IS NULL OR plan_mailbox_daily >= -1);
      ALTER TABLE subscriptions ADD COLUMN plan_domain_daily INTEGER CHECK (plan_domain_daily IS NULL OR plan_domain_daily >= -1);
      ALTER TABLE subscriptions ADD COLUMN plan_subscription_daily INTEGER CHECK (plan_subscription_daily IS NULL OR plan_subscription_daily >= -1);
      -- Which window an over-limit attempt met.
      ALTER TABLE over_limit_events ADD COLUMN limit_window TEXT NOT NULL DEFAULT 'hour' CHECK (limit_window IN ('hour', 'day'));
      -- Which window a held message met, so the screens say "per day" for a daily hold.
      ALTER TABLE held_messages ADD COLUMN tripped_window TEXT NOT NULL DEFAULT 'hour' CHECK (tripped_window IN ('hour', 'day'));
    `,
  },
  {
    // Recipients per message. Adds columns only: it does not depend on any migration after 10.
    version: 11,
    description: 'maximum recipients per message',
    sql: `
      -- Own maximum number of recipients of one message (NULL = the server default, -1 = unlimited, n >= 1).
      ALTER TABLE subscriptions ADD COLUMN recipient_limit_value INTEGER CHECK (recipient_limit_value IS NULL OR recipient_limit_value = -1 OR recipient_limit_value >= 1);
      ALTER TABLE domains ADD COLUMN recipient_limit_value INTEGER CHECK (recipient_limit_value IS NULL OR recipient_limit_value = -1 OR recipient_limit_value >= 1);
      ALTER TABLE mailboxes ADD COLUMN recipient_limit_value INTEGER CHECK (recipient_limit_value IS NULL OR recipient_limit_value = -1 OR recipient_limit_value >= 1);
      -- A message refused for its number of recipients: the maximum it was over (NULL for rate limit events).
      ALTER TABLE over_limit_events ADD COLUMN recipient_maximum INTEGER CHECK (recipient_maximum IS NULL OR recipient_maximum >= 1);
    `,
  },
  {
    // Monitor mode and early warnings. Only this number changes should another step take 12 first: nothing else refers to it.
    version: 12,
    description: 'early warnings',
    sql: `
      -- An object passed the early-warning share of a limit: at most one row per object and window per window
      -- length, so a flood costs nothing here. Kept as long as over-limit events.
      CREATE TABLE early_warnings (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms         INTEGER NOT NULL,
        level         TEXT NOT NULL CHECK (level IN ('mailbox', 'domain', 'subscription')),
        object_id     INTEGER NOT NULL,
        object_name   TEXT NOT NULL,
        limit_window  TEXT NOT NULL CHECK (limit_window IN ('hour', 'day')),
        percent       INTEGER NOT NULL CHECK (percent BETWEEN 1 AND 100),
        limit_value   INTEGER NOT NULL CHECK (limit_value >= 0),
        used          INTEGER NOT NULL CHECK (used >= 0)
      );
      CREATE INDEX early_warnings_at ON early_warnings (at_ms);
    `,
  },
  {
    // Temporary exemptions. Only this number changes should another step take 13 first: nothing else refers to it.
    version: 13,
    description: 'temporary exemptions',
    sql: `
      -- One object's hourly and/or daily limit raised (n) or lifted (-1) until ends_at_ms (core/exemptions.ts); a
      -- value NULL keeps that window's normal limit. Exactly one object column is set; its row goes with the object.
      CREATE TABLE exemptions (
        id              INTEGER PRIMARY KEY,
        mailbox_id      INTEGER UNIQUE REFERENCES mailboxes(id) ON DELETE CASCADE,
        domain_id       INTEGER UNIQUE REFERENCES domains(id) ON DELETE CASCADE,
        subscription_id INTEGER UNIQUE REFERENCES subscriptions(id) ON DELETE CASCADE,
        hourly_value    INTEGER CHECK (hourly_value IS NULL OR hourly_value >= -1),
        daily_value     INTEGER CHECK (daily_value IS NULL OR daily_value >= -1),
        starts_at_ms    INTEGER NOT NULL,
        ends_at_ms      INTEGER NOT NULL,
        set_by          TEXT NOT NULL,
        set_by_role     TEXT NOT NULL CHECK (set_by_role IN ('admin', 'reseller', 'customer')),
        CHECK ((mailbox_id IS NOT NULL) + (domain_id IS NOT NULL) + (subscription_id IS NOT NULL) = 1),
        CHECK (hourly_value IS NOT NULL OR daily_value IS NOT NULL)
      );
      CREATE INDEX exemptions_end ON exemptions(ends_at_ms);
    `,
  },
  {
    // Unusual sending. Creates only its own table, so it runs whichever of 11-13 came before it.
    version: 14,
    description: 'anomalies of unusual sending',
    sql: `
      -- One row per mailbox, signal and clock hour (hours since the epoch): raised once, with the figures seen.
      CREATE TABLE anomalies (
        id               INTEGER PRIMARY KEY,
        mailbox          TEXT NOT NULL,
        signal           TEXT NOT NULL CHECK (signal IN ('loginAddresses', 'recipientDomains', 'volumeSurge')),
        hour             INTEGER NOT NULL,
        at_ms            INTEGER NOT NULL,
        observed         INTEGER NOT NULL CHECK (observed >= 0),
        threshold        INTEGER NOT NULL CHECK (threshold >= 0),
        baseline         INTEGER CHECK (baseline IS NULL OR baseline >= 0),
        auto_compromised INTEGER NOT NULL DEFAULT 0 CHECK (auto_compromised IN (0, 1)),
        UNIQUE (mailbox, signal, hour)
      );
      CREATE INDEX anomalies_by_time ON anomalies (at_ms);
    `,
  },
  {
    // 31-day history. Only this number changes should the steps before it be renumbered: nothing else refers to it.
    version: 15,
    description: '31 days of statistics: daily rows beside the hourly ones, both ordered by time',
    sql: `
      -- Hourly rows ordered by time first: the roll-up appends to the newest hour's pages and the prune deletes the
      -- oldest hour's pages, a contiguous range, instead of touching one page of every object each hour. A chart
      -- reads an object's hours as one key lookup per hour (a week: 168).
      CREATE TABLE hourly_sent_by_time (
        hour        INTEGER NOT NULL,
        counter_key INTEGER NOT NULL,
        amount      INTEGER NOT NULL,
        PRIMARY KEY (hour, counter_key)
      ) WITHOUT ROWID;
      INSERT INTO hourly_sent_by_time (hour, counter_key, amount) SELECT hour, counter_key, amount FROM hourly_sent;
      DROP TABLE hourly_sent;
      ALTER TABLE hourly_sent_by_time RENAME TO hourly_sent;
      -- Counted amounts per object and UTC day (day = hour / 24), written beside hourly_sent by the same roll-up
      -- and kept 31 days, while hourly rows are kept a week: a day row costs a 24th of the hours it replaces.
      CREATE TABLE daily_sent (
        day         INTEGER NOT NULL,
        counter_key INTEGER NOT NULL,
        amount      INTEGER NOT NULL,
        PRIMARY KEY (day, counter_key)
      ) WITHOUT ROWID;
      CREATE TABLE daily_server_sent (
        day    INTEGER PRIMARY KEY,
        amount INTEGER NOT NULL
      );
      -- The hours already rolled up become their days, so the 31-day chart starts with what the store has.
      INSERT INTO daily_sent (day, counter_key, amount) SELECT hour / 24, counter_key, SUM(amount) FROM hourly_sent GROUP BY hour / 24, counter_key;
      INSERT INTO daily_server_sent (day, amount) SELECT hour / 24, SUM(amount) FROM hourly_server_sent GROUP BY hour / 24;
    `,
  },
  {
    version: 16,
    description: 'configuration shared by the nodes of a cluster',
    sql: `
      -- A node of a cluster: which cluster, and the last entry of the cluster's configuration log applied here.
      -- No row on a single server.
      CREATE TABLE cluster_config (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        cluster_id   TEXT NOT NULL,
        last_applied TEXT NOT NULL
      );
      -- Row changes of the shared tables, written by triggers that exist only on a node of a cluster
      -- (store/shared-config.ts), read once per change and sent to the cluster's log.
      CREATE TABLE config_changes (
        seq   INTEGER PRIMARY KEY,
        tbl   TEXT NOT NULL,
        op    TEXT NOT NULL CHECK (op IN ('put', 'del')),
        row   TEXT NOT NULL
      );
    `,
  },
  {
    version: 17,
    description: 'over-limit events and statistics shared by the nodes of a cluster',
    sql: `
      -- The node an event came from; NULL: recorded here (every event of a single server).
      ALTER TABLE over_limit_events ADD COLUMN node TEXT;
      -- A node of a cluster: how far it has sent what it records ('events': over_limit_events ids, 'sent':
      -- counter_batches ids, 'released': cluster_release_outbox ids), and a mark of that row (its at_ms,
      -- last_second or resolved_at_ms) that tells a reused id. The
      -- generation grows when ids start again (every row was pruned), so the other nodes take the lower ids as
      -- new. No row on a single server.
      CREATE TABLE cluster_stats_sent (
        kind       TEXT PRIMARY KEY CHECK (kind IN ('events', 'sent', 'released')),
        generation INTEGER NOT NULL,
        upto       INTEGER NOT NULL,
        upto_mark  INTEGER NOT NULL
      );
      -- What this node has taken in from each other node, per kind: nothing is added twice.
      CREATE TABLE cluster_stats_applied (
        node       TEXT NOT NULL,
        kind       TEXT NOT NULL CHECK (kind IN ('events', 'sent', 'released')),
        generation INTEGER NOT NULL,
        upto       INTEGER NOT NULL,
        PRIMARY KEY (node, kind)
      ) WITHOUT ROWID;
      -- A node of a cluster: held mail released here, written by a trigger of the daemon's connection (held
      -- records change status in place, so they have no order of their own to send them by).
      CREATE TABLE cluster_release_outbox (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        resolved_at_ms INTEGER NOT NULL,
        weight         INTEGER NOT NULL,
        charged_level  TEXT NOT NULL,
        charged_name   TEXT NOT NULL
      );
      CREATE INDEX cluster_release_outbox_time ON cluster_release_outbox(resolved_at_ms);
      -- Held mail the other nodes released (their held records stay theirs): the released bars and what a
      -- release counted, which the charts take off "sent".
      CREATE TABLE cluster_releases (
        node           TEXT NOT NULL,
        resolved_at_ms INTEGER NOT NULL,
        weight         INTEGER NOT NULL,
        charged_level  TEXT NOT NULL,
        charged_name   TEXT NOT NULL
      );
      CREATE INDEX cluster_releases_time ON cluster_releases(resolved_at_ms);
      -- Where this node has read each stream of the cluster's Redis.
      CREATE TABLE cluster_stats_read (
        stream   TEXT PRIMARY KEY,
        position TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];
