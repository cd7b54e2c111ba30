import { createElement, Fragment } from 'react';
import type { HeldMessage } from '../api/types';
import { useText } from '../app/text';

/**
 * A held message's reason as of now: what was reached (from the record), then when it leaves, computed by the API
 * each time it is asked (the wait written at the moment of holding no longer holds 12 minutes later).
 */
export function HeldLeavingText({ message }: { message: Pick<HeldMessage, 'reason' | 'cause' | 'leaves'> }) {
  const text = useText();
  const leaves = message.leaves;
  if (!leaves) return <Fragment>{message.reason}</Fragment>;
  let when: string;
  if (leaves.leaves === 'automatically') when = leaves.inSeconds === 0 ? text('rowState.leaves.now') : text('rowState.leaves.inMinutes', { minutes: Math.max(1, Math.ceil(leaves.inSeconds / 60)) });
  else if (leaves.leaves === 'afterOthers') when = text('rowState.leaves.afterOthers', { count: leaves.ahead });
  else when = text(`rowState.leaves.${leaves.because}`, { level: text(`rowState.levelNames.${leaves.level}`), name: leaves.name });
  return (
    <Fragment>
      {message.cause}. <span data-testid="held-leaves">{when}</span>
    </Fragment>
  );
}
