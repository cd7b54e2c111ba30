import type { Logger } from 'pino';
import { LogSummariser } from '../log/log-summariser.js';
import { explainHold } from '../core/decision.js';
import { MONITORED_ACTIONS, explainMonitored } from '../core/monitor-mode.js';
import { identifyLocalSender, submittingUid } from '../core/identity.js';
import { tooManyRecipientsReply } from '../core/recipient-limits.js';
import type { Enforcer, MessageFacts, Verdict } from '../enforcement/enforcer.js';
import type { HeldMail } from '../enforcement/held-mail.js';
import type { LocalMessage, MilterHandler, MilterVerdict } from './milter-server.js';
import { firstHeaderLine } from './queue-file.js';
import type { SystemUsers } from './system-users.js';

/**
 * Local mail (sendmail, PHP mail(), cron), seen by the milter in non_smtpd_milters at the end of the message.
 * Over the limit it is quarantined (Postfix's hold queue) and released by the same worker as held SMTP mail.
 * Never tempfail (Postfix would retry it from maildrop every minute, forever); never reject over a rate limit
 * (it would bounce). The one exception: more recipients than the message's maximum, which no wait can cure.
 * Measured with Postfix 3.7 (backend-bridge/test/recipient-limits.test.ts): a 554 5.5.3 custom reply to a
 * local message makes cleanup send the envelope sender a non-delivery report at once, one "Status: 5.5.3" per
 * recipient with our sentence as the Diagnostic-Code, and the original headers (not the body); nothing is
 * delivered, nothing stays in a queue. A hold would keep the message but tell the sender nothing, and the
 * release worker would send it to all its recipients once the rate had room.
 */
export function localMailHandler(enforcer: Enforcer, held: HeldMail, systemUsers: SystemUsers, queueDirectory: () => string | null, log: Logger): MilterHandler {
  // Per message: a failing store would otherwise write one line for each local message over the limit.
  const repeated = new LogSummariser(log);
  return (message: LocalMessage): MilterVerdict | Promise<MilterVerdict> => {
    // Postfix's own Received header (the first line of the message) names the submitting uid; it is not among
    // the headers the milter is sent, so it is read from the queue file. Any later one could be forged.
    const directory = queueDirectory();
    const first = directory && message.queueId ? firstHeaderLine(directory, message.queueId) : null;
    const uid = first === null ? null : submittingUid(first);
    const systemUser = uid === null ? null : systemUsers.nameOf(uid);
    const identity = identifyLocalSender(enforcer.directory, message.sender, systemUser);
    const facts = { sender: message.sender, recipientCount: Math.max(1, message.recipientCount), queueId: message.queueId, recipients: message.recipients };
    const verdict = enforcer.decide(identity, facts, 'hold');
    const context = { uid, systemUser };
    // A node of a cluster answers once Redis has counted; a single server at once.
    return verdict instanceof Promise ? verdict.then((later) => answer(later, message, facts, context)) : answer(verdict, message, facts, context);
  };

  function answer({ identity, decision, weight, tooManyRecipients, monitored }: Verdict, message: LocalMessage, facts: MessageFacts, { uid, systemUser }: { uid: number | null; systemUser: string | null }): MilterVerdict {
    if (monitored && !monitored.allowed) {
      log.info({ queueId: message.queueId, sender: message.sender, level: monitored.tripped.level, object: monitored.tripped.name, action: MONITORED_ACTIONS.hold }, explainMonitored(monitored, 'hold'));
    }
    log.debug({ queueId: message.queueId, sender: message.sender, uid, systemUser, identifiedBy: identity?.source, allowed: decision.allowed }, 'local message');
    if (tooManyRecipients) {
      log.info({ queueId: message.queueId, sender: message.sender, uid, systemUser, identifiedBy: identity?.source, level: tooManyRecipients.tripped.level, object: tooManyRecipients.tripped.name, recipients: tooManyRecipients.recipients, maximum: tooManyRecipients.maximum, action: 'reject' }, tooManyRecipients.reason);
      return { action: 'reject', reply: tooManyRecipientsReply(tooManyRecipients) };
    }
    if (decision.allowed || !identity) return { action: 'accept' };
    const reason = explainHold(decision);
    const context = { queueId: message.queueId, sender: message.sender, uid, systemUser, identifiedBy: identity.source, level: decision.tripped.level, object: decision.tripped.name };
    if (!message.queueId) {
      repeated.error('local-over-limit-without-queue-id', context, 'local message over the limit without a queue id to track it: accepted');
      return { action: 'accept' };
    }
    if (!held.recordHold('milter', message.queueId, facts, identity, decision, weight, reason)) {
      // The store failed (logged there): held without a record, for a person to release, rather than let
      // over-limit mail through.
      repeated.error('local-hold-unrecorded', context, 'local message over the limit could not be recorded: held untracked; release it by hand (postsuper -H)');
      return { action: 'quarantine', reason };
    }
    log.info({ ...context, action: 'hold' }, reason);
    return { action: 'quarantine', reason };
  }
}
