import { createElement, Fragment } from 'react';
import type { HeldMessage } from '../api/types';
import { useReasonText } from '../app/reasons';
import { useText } from '../app/text';

/**
 * A held message's reason as of now: what was reached (from the record, in the person's words), then when it
 * leaves, computed by the API each time it is asked (the wait written at the moment of holding no longer holds 12
 * minutes later). The record's `reason` is Postfix's English protocol text and is not shown.
 */
export function HeldLeavingText({ message }: { message: Pick<HeldMessage, 'cause' | 'leaves'> }) {
  const text = useText();
  const reasons = useReasonText();
  const leaves = message.leaves;
  const cause = reasons.cause(message.cause);
  if (!leaves) return <Fragment>{cause}.</Fragment>;
  let when: string;
  if (leaves.leaves === 'automatically') when = leaves.inSeconds === 0 ? text('rowState.leaves.now') : text('rowState.leaves.inMinutes', { minutes: Math.max(1, Math.ceil(leaves.inSeconds / 60)) });
  else if (leaves.leaves === 'afterOthers') when = text('rowState.leaves.afterOthers', { count: leaves.ahead });
  else if (leaves.leaves === 'onNode') when = text('heldCluster.leavesOnNode', { node: leaves.node });
  else when = text(`rowState.leaves.${leaves.because}`, { level: text(`rowState.levelNames.${leaves.level}`), name: leaves.name });
  return (
    <Fragment>
      {cause}. <span data-testid="held-leaves">{when}</span>
    </Fragment>
  );
}
