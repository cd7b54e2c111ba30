import type { Logger } from 'pino';
import type { Enforcer } from '../enforcement/enforcer.js';
import type { PolicyRequest } from './policy-protocol.js';
import type { PolicyHandler } from './policy-server.js';

/**
 * Postfix's facts at END-OF-MESSAGE: only then are recipient_count and size real and the message complete.
 * Requests from other stages (a wiring mistake) are let through uncounted, or each recipient would count.
 */
export function smtpdPolicyHandler(enforcer: Enforcer, log: Logger): PolicyHandler {
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
    const { decision, identity } = enforcer.check(facts);
    if (decision.allowed) return 'DUNNO';
    log.info(
      {
        queueId: facts.queueId,
        sender: facts.sender,
        saslUsername: facts.saslUsername,
        identifiedBy: identity?.source,
        level: decision.tripped.level,
        object: decision.tripped.name,
        used: decision.used,
        limit: decision.limit,
      },
      decision.reason,
    );
    return `DEFER_IF_PERMIT 4.7.1 ${decision.reason}`;
  };
}
