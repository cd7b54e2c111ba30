import type { Logger } from 'pino';
import { explainHold } from '../core/decision.js';
import { MONITORED_ACTIONS, explainMonitored } from '../core/monitor-mode.js';
import type { Enforcer } from '../enforcement/enforcer.js';
import type { HeldMail } from '../enforcement/held-mail.js';
import type { PolicyRequest } from './policy-protocol.js';
import type { PolicyHandler } from './policy-server.js';

/**
 * Postfix's facts at END-OF-MESSAGE: only then are recipient_count and size real and the message complete.
 * Requests from other stages (a wiring mistake) are let through uncounted, or each recipient would count.
 * Over the limit: HOLD (the message waits in Postfix's hold queue, recorded here first) or DEFER_IF_PERMIT,
 * as the settings say; never a rejection.
 */
export function smtpdPolicyHandler(enforcer: Enforcer, held: HeldMail | null, log: Logger): PolicyHandler {
  return (request: PolicyRequest): string => {
    if (request.protocolState !== 'END-OF-MESSAGE') return 'DUNNO';
    const recipientCount = Number.parseInt(request.recipientCount, 10);
    const facts = {
      saslUsername: request.saslUsername || undefined,
      sender: request.sender || undefined,
      recipientCount: Number.isFinite(recipientCount) ? recipientCount : 1,
      queueId: request.queueId || undefined,
      clientAddress: request.clientAddress || undefined,
    };
    const { decision, identity, weight, monitored } = enforcer.check(facts);
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
  };
}
