import { Icon } from '@plesk/ui-library';
import { createElement, Fragment } from 'react';
import type { ObjectRow } from '../api/types';
import { useText } from '../app/text';

type LockFacts = Pick<ObjectRow, 'name' | 'lockedForYou' | 'lockedBy' | 'lockedByRole'>;

/** "Locked by the administrator admin": who holds the lock on a value this person may not change. */
export function useLockText(): (row: LockFacts, key: 'reasons.lockedMark' | 'reasons.lockedEdit') => string {
  const text = useText();
  return (row, key) => text(key, { role: text(`roles.${row.lockedByRole ?? 'admin'}`), login: row.lockedBy ?? '', name: row.name });
}

/**
 * A lock beside a limit that is locked for the viewer (set by a higher role, core/limit-locks.ts): every list
 * says it before anyone opens the dialog. An image with a name, so screen readers say it too.
 */
export function LockMark({ row }: { row: LockFacts }) {
  const lockText = useLockText();
  if (!row.lockedForYou) return null;
  const label = lockText(row, 'reasons.lockedMark');
  return (
    <Fragment>
      {' '}
      <span role="img" aria-label={label} title={label} data-testid="lock-mark" style={{ whiteSpace: 'nowrap' }}>
        <Icon name="lock-closed" />
      </span>
    </Fragment>
  );
}

/** The limit cell of a row: its text, then the lock mark when the viewer may not change it. */
export function LimitCell({ row, children }: { row: LockFacts; children: string }) {
  return (
    <span>
      {children}
      <LockMark row={row} />
    </span>
  );
}
