import { textHash } from '../core/anomalies.js';
import { domainOf } from '../core/directory.js';

/** SMTP transactions remembered at once; beyond it the oldest is forgotten (a session that never reached DATA). */
export const MAX_TRANSACTIONS = 1024;
/** Domains kept per transaction at most: Postfix's own default smtpd_recipient_limit. */
export const MAX_DOMAINS_PER_TRANSACTION = 1000;

/**
 * Recipient domains of SMTP transactions between their RCPT commands and END-OF-MESSAGE, by Postfix's `instance`,
 * for the recipient-domains signal (the END-OF-MESSAGE request names a recipient only when there is one). Kept as
 * hashes (core/anomalies.ts textHash), at most `cap` (and 1,000) per transaction and MAX_TRANSACTIONS
 * transactions: a few MB at worst, whatever clients send.
 */
export class RecipientStageDomains {
  private readonly byInstance = new Map<string, Set<number>>();

  /** Remembers the domain of one RCPT; `cap`: the signal's threshold + 1, all it can need. */
  add(instance: string, recipient: string, cap: number): void {
    const domain = domainOf(recipient);
    if (!instance || !domain) return;
    let domains = this.byInstance.get(instance);
    if (!domains) {
      if (this.byInstance.size >= MAX_TRANSACTIONS) {
        const oldest = this.byInstance.keys().next();
        if (!oldest.done) this.byInstance.delete(oldest.value);
      }
      domains = new Set();
      this.byInstance.set(instance, domains);
    }
    if (domains.size < Math.min(cap, MAX_DOMAINS_PER_TRANSACTION)) domains.add(textHash(domain));
  }

  /** The domains (hashed) of a transaction at its END-OF-MESSAGE, forgotten then. */
  take(instance: string): number[] | undefined {
    const domains = this.byInstance.get(instance);
    if (!domains) return undefined;
    this.byInstance.delete(instance);
    return [...domains];
  }

  get size(): number {
    return this.byInstance.size;
  }
}
