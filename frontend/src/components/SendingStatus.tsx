import { Status } from '@plesk/ui-library';
import { createElement, Fragment } from 'react';
import type { ObjectRow } from '../api/types';
import { useText, type TextParams } from '../app/text';
import { NavLink } from './NavLink';

type Text = (key: string, params?: TextParams) => string;
type SendingState = ObjectRow['sending'];

const minutes = (seconds: number) => Math.max(1, Math.ceil(seconds / 60));

/**
 * What the API says the object's next message meets now: "Sending", "Holding new mail: domain shop.test is at its
 * limit (frees in 12 min)", "Not sending: limit 0" (over-limit action "defer").
 */
export function sendingText(text: Text, sending: SendingState): string {
  if (sending.state === 'sending') return text('rowState.sending');
  if (sending.state === 'limitsOff') return text('rowState.limitsOff');
  const prefix = PREFIX[sending.state];
  if (sending.compromised) return text(`${prefix}Compromised`);
  const frees: TextParams = sending.freesInSeconds === null ? {} : { minutes: minutes(sending.freesInSeconds) };
  const zero = sending.limit === 0 || sending.freesInSeconds === null;
  if (sending.self) return text(`${prefix}Self${zero ? 'Zero' : ''}`, frees);
  return text(`${prefix}Other${zero ? 'Zero' : ''}`, { ...frees, level: text(`rowState.levelNames.${sending.level}`), name: sending.name });
}

const INTENT: Record<SendingState['state'], 'success' | 'info' | 'warning' | 'danger'> = {
  sending: 'success',
  limitsOff: 'info',
  holding: 'warning',
  deferring: 'danger',
  // Monitor only: the mail is sent; the row says what enforcing would do.
  wouldHold: 'info',
  wouldDefer: 'info',
};

/** Where the sentences of each blocked state are: monitor only says what would happen, never "Holding". */
const PREFIX: Record<'holding' | 'deferring' | 'wouldHold' | 'wouldDefer', string> = {
  holding: 'rowState.holding',
  deferring: 'rowState.notSending',
  wouldHold: 'monitor.row.wouldHold',
  wouldDefer: 'monitor.row.wouldDefer',
};

/** The row's state, and how many of its messages are held, linked to the held-mail screen filtered to it. */
export function SendingStatus({ row }: { row: Pick<ObjectRow, 'name' | 'sending' | 'heldCount'> }) {
  const text = useText();
  return (
    <Fragment>
      <Status intent={INTENT[row.sending.state]} data-testid="sending-state">
        {sendingText(text, row.sending)}
      </Status>
      {row.heldCount > 0 ? (
        <Fragment>
          {' '}
          <NavLink to={{ screen: 'held', name: row.name }} label={text('rowState.heldOf', { name: row.name, count: row.heldCount })}>
            {text('rowState.held', { count: row.heldCount })}
          </NavLink>
        </Fragment>
      ) : null}
    </Fragment>
  );
}
