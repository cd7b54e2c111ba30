import { domainOf, type ChargedObject, type DirectoryIndex } from './directory.js';

/** How a message was tied to the directory: this ends up in logs and answers, so people can follow it. */
export type IdentitySource = 'sasl-login' | 'sender-mailbox' | 'sender-domain';

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
  if (!sender) return null;
  const mailbox = directory.mailboxesByAddress.get(sender.toLowerCase());
  if (mailbox) return { source: 'sender-mailbox', chain: directory.chainFrom(mailbox) };
  const domain = directory.domainsByName.get(domainOf(sender));
  if (domain) return { source: 'sender-domain', chain: directory.chainFrom(domain) };
  return null;
}
