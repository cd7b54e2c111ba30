import { domainOf, type ChargedObject, type DirectoryIndex } from './directory.js';

/** How a message was tied to the directory: this ends up in logs and answers, so people can follow it. */
export type IdentitySource = 'sasl-login' | 'sender-mailbox' | 'sender-domain' | 'system-user';

export interface SenderIdentity {
  source: IdentitySource;
  /** The objects the message is charged to, innermost first (mailbox, domain, subscription). */
  chain: ChargedObject[];
}

/**
 * Who sends a message submitted over SMTP. The SASL login is the strongest evidence (an authenticated user can
 * put any envelope sender on a message); without one, the envelope sender if it is a known mailbox; a sender
 * that is no known mailbox still counts against its domain when that domain is hosted here. Anything else is
 * not ours to limit: null.
 */
export function identifySender(
  directory: DirectoryIndex,
  saslUsername: string | undefined,
  sender: string | undefined,
): SenderIdentity | null {
  if (saslUsername) {
    const mailbox = directory.mailboxesByAddress.get(saslUsername.toLowerCase());
    if (mailbox) return { source: 'sasl-login', chain: directory.chainFrom(mailbox) };
  }
  return identifyBySender(directory, sender);
}

function identifyBySender(directory: DirectoryIndex, sender: string | undefined): SenderIdentity | null {
  if (!sender) return null;
  const mailbox = directory.mailboxesByAddress.get(sender.toLowerCase());
  if (mailbox) return { source: 'sender-mailbox', chain: directory.chainFrom(mailbox) };
  const domain = directory.domainsByName.get(domainOf(sender));
  if (domain) return { source: 'sender-domain', chain: directory.chainFrom(domain) };
  return null;
}

/**
 * Who sends a message submitted locally (sendmail, PHP mail(), cron): the envelope sender when it is a known
 * mailbox, else its domain when hosted here, else the subscription whose system user submitted it (scripts
 * usually send as www-data@host or user@host, which is nobody's mailbox).
 */
export function identifyLocalSender(directory: DirectoryIndex, sender: string | undefined, systemUser: string | null): SenderIdentity | null {
  const bySender = identifyBySender(directory, sender);
  if (bySender) return bySender;
  if (systemUser === null) return null;
  const subscription = directory.subscriptionsBySystemUser.get(systemUser);
  return subscription ? { source: 'system-user', chain: [subscription] } : null;
}

/**
 * The uid in the header pickup adds to locally submitted mail: `Received: by host (Postfix, from userid 33)`.
 * The milter protocol does not carry the submitting uid; this header is where Postfix records it.
 */
export function submittingUid(receivedHeader: string): number | null {
  const match = /\(Postfix, from userid (\d+)\)/.exec(receivedHeader);
  return match ? Number(match[1]) : null;
}
