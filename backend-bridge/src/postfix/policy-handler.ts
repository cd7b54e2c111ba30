import type { Logger } from 'pino';
import { explainHold } from '../core/decision.js';
import { MONITORED_ACTIONS, explainMonitored } from '../core/monitor-mode.js';
import { tooManyRecipientsReply } from '../core/recipient-limits.js';
import type { Enforcer, MessageFacts, Verdict } from '../enforcement/enforcer.js';
import type { HeldMail } from '../enforcement/held-mail.js';
import type { PolicyRequest } from './policy-protocol.js';
import type { PolicyHandler } from './policy-server.js';
import { RecipientStageDomains } from './recipient-stage-domains.js';

/**
 * Postfix's facts at END-OF-MESSAGE: only then are recipient_count and size real and the message complete.
 * Requests from other stages are let through uncounted, or each recipient would count; at RCPT the recipient's
 * domain is remembered for the recipient-domains signal.
 * Over the limit: HOLD (the message waits in Postfix's hold queue, recorded here first) or DEFER_IF_PERMIT,
 * as the settings say. The one permanent refusal: more recipients than the message's maximum (554 5.5.3), since
 * sending it again cannot help; the client keeps the message and tells its user.
 */
export function smtpdPolicyHandler(enforcer: Enforcer, held: HeldMail | null, log: Logger): PolicyHandler {
  const recipientStage = new RecipientStageDomains();
  return (request: PolicyRequest): string | Promise<string> => {
    if (request.protocolState === 'RCPT') {
      // Observe only (the administrator may add this check to smtpd_recipient_restrictions for the
      // recipient-domains signal): it never decides anything and nothing is counted here.
      const domains = enforcer.currentSettings.anomalies.recipientDomains.threshold;
      if (domains !== null) recipientStage.add(request.instance, request.recipient, domains + 1);
      return 'DUNNO';
    }
    if (request.protocolState !== 'END-OF-MESSAGE') return 'DUNNO';
    const recipientCount = Number.parseInt(request.recipientCount, 10);
    const facts = {
      saslUsername: request.saslUsername || undefined,
      sender: request.sender || undefined,
      recipientCount: Number.isFinite(recipientCount) ? recipientCount : 1,
      queueId: request.queueId || undefined,
      clientAddress: request.clientAddress || undefined,
      // Postfix names the recipient here only when there is exactly one.
      recipients: request.recipient ? [request.recipient] : undefined,
      recipientDomainHashes: request.instance ? recipientStage.take(request.instance) : undefined,
    };
    const verdict = enforcer.check(facts);
    // A node of a cluster answers once Redis has counted; a single server at once.
    return verdict instanceof Promise ? verdict.then((later) => answer(later, facts)) : answer(verdict, facts);
  };

  function answer({ decision, identity, weight, tooManyRecipients, monitored }: Verdict, facts: MessageFacts): string {
    if (tooManyRecipients) {
      log.info({ queueId: facts.queueId, sender: facts.sender, saslUsername: facts.saslUsername, identifiedBy: identity?.source, level: tooManyRecipients.tripped.level, object: tooManyRecipients.tripped.name, recipients: tooManyRecipients.recipients, maximum: tooManyRecipients.maximum, action: 'reject' }, tooManyRecipients.reason);
      // access(5) syntax: a 5NN code with an enhanced status code sets both in the client's answer.
      return tooManyRecipientsReply(tooManyRecipients);
    }
    if (monitored && !monitored.allowed) {
      const action = enforcer.currentSettings.overLimitAction;
      log.info({ queueId: facts.queueId, sender: facts.sender, saslUsername: facts.saslUsername, level: monitored.tripped.level, object: monitored.tripped.name, action: MONITORED_ACTIONS[action] }, explainMonitored(monitored, action));
    }
    if (decision.allowed) return 'DUNNO';
    const hold = enforcer.currentSettings.overLimitAction === 'hold' && held !== null && identity !== null;
    const reason = hold ? explainHold(decision) : decision.reason;
    const context = {
      queueId: facts.queueId,
      sender: facts.sender,
      saslUsername: facts.saslUsername,
      identifiedBy: identity?.source,
      level: decision.tripped.level,
      object: decision.tripped.name,
      used: decision.used,
      limit: decision.limit,
    };
    if (hold && held.recordHold('smtpd', facts.queueId, facts, identity, decision, weight, reason)) {
      log.info({ ...context, action: 'hold' }, reason);
      return `HOLD ${reason}`;
    }
    log.info({ ...context, action: 'defer' }, decision.reason);
    return `DEFER_IF_PERMIT 4.7.1 ${decision.reason}`;
  }
}
