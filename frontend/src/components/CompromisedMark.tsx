import { Button, Label } from '@plesk/ui-library';
import { createElement, Fragment, useState } from 'react';
import type { ObjectRow } from '../api/types';
import { useEnvironment } from '../app/environment';
import { useReasonText } from '../app/reasons';
import { useText } from '../app/text';
import { useToasts } from '../app/toasts';
import { ConfirmDialog } from './ConfirmDialog';

/** "Compromised" beside an email address marked so, in every list. */
export function CompromisedLabel({ row }: { row: Pick<ObjectRow, 'compromised'> }) {
  const text = useText();
  return row.compromised ? (
    <Fragment>
      {' '}
      <Label intent="danger">{text('rowState.compromised')}</Label>
    </Fragment>
  ) : null;
}

/**
 * "Mark as Compromised" or "Restore" on the row of an email address, for those who may change its limit (the API
 * still decides): the same confirmation and toasts as on the held-mail screen.
 */
export function CompromisedAction({ row, onChanged }: { row: Pick<ObjectRow, 'level' | 'name' | 'compromised' | 'mayChangeLimit'>; onChanged: () => void }) {
  const { api } = useEnvironment();
  const text = useText();
  const reasons = useReasonText();
  const toasts = useToasts();
  const [confirming, setConfirming] = useState(false);
  if (row.level !== 'mailbox' || !row.mayChangeLimit) return null;
  const act = async () => {
    const address = row.name;
    try {
      if (row.compromised) {
        await api.restoreMailbox(address);
        toasts.success(text('held.restored', { name: address }));
      } else {
        const answer = await api.markCompromised(address);
        toasts.success(answer.heldNow ? text('held.compromisedHeld', { name: address, count: answer.heldNow }) : text('held.compromised', { name: address }));
      }
    } catch (error) {
      toasts.error(text(row.compromised ? 'held.restoreFailed' : 'held.compromiseFailed', { name: address, reason: reasons.refusal(error) }));
    }
    onChanged();
  };
  const label = row.compromised ? text('rowState.restoreOf', { name: row.name }) : text('rowState.markCompromisedOf', { name: row.name });
  return (
    <Fragment>
      <Button ghost aria-label={label} tooltip={label} onClick={() => setConfirming(true)}>
        {text(row.compromised ? 'rowState.restore' : 'rowState.markCompromised')}
      </Button>
      {confirming ? (
        row.compromised ? (
          <ConfirmDialog title={text('rowState.restoreTitle', { name: row.name })} confirmLabel={text('rowState.restore')} onConfirm={act} onClose={() => setConfirming(false)}>
            {text('rowState.restoreText', { name: row.name })}
          </ConfirmDialog>
        ) : (
          <ConfirmDialog title={text('held.compromiseTitle', { name: row.name })} confirmLabel={text('held.compromise')} danger onConfirm={act} onClose={() => setConfirming(false)}>
            {text('held.compromiseText', { name: row.name })}
          </ConfirmDialog>
        )
      ) : null}
    </Fragment>
  );
}
