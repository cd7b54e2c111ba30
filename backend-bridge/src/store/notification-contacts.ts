import type { Db } from './database.js';

/** Where a reseller's or customer's notifications go, by login (Plesk knows the addresses and syncs them). */
export interface NotificationContact {
  login: string;
  address: string;
}

export function contactAddress(db: Db, login: string): string | null {
  const row = db.prepare('SELECT address FROM notification_contacts WHERE login = ?').get(login) as { address: string } | undefined;
  return row?.address ?? null;
}

/** Sets (or with null removes) a login's address; returns the address it had before. */
export function setContactAddress(db: Db, login: string, address: string | null): string | null {
  const before = contactAddress(db, login);
  if (address === null) db.prepare('DELETE FROM notification_contacts WHERE login = ?').run(login);
  else db.prepare('INSERT INTO notification_contacts (login, address) VALUES (?, ?) ON CONFLICT (login) DO UPDATE SET address = excluded.address').run(login, address);
  return before;
}

export function listContacts(db: Db): NotificationContact[] {
  return db.prepare('SELECT login, address FROM notification_contacts ORDER BY login').all() as NotificationContact[];
}
