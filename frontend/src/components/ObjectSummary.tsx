import { Button, Paragraph, Section } from '@plesk/ui-library';
import { createElement, useCallback, useState } from 'react';
import type { Level, ObjectRow } from '../api/types';
import { useEnvironment } from '../app/environment';
import { useText } from '../app/text';
import { useResource, type Resource } from '../app/use-resource';
import { effectiveLimitText, usageText } from './limit-text';
import { LimitDialog } from './LimitDialog';
import { SendingStatus } from './SendingStatus';

interface ObjectSummaryProps {
  level: Level;
  title: string;
  object: ObjectRow;
  /** null: read-only, with this sentence saying who may change it. */
  readOnlyReason: string | null;
  onSaved: () => void;
}

/** The object's own limit, what applies and its live usage, with "Limit Outgoing Messages" when allowed. */
export function ObjectSummary({ level, title, object, readOnlyReason, onSaved }: ObjectSummaryProps) {
  const text = useText();
  const [open, setOpen] = useState(false);
  return (
    <Section
      title={title}
      buttons={readOnlyReason === null ? [<Button key="limit" intent="primary" onClick={() => setOpen(true)}>{text('list.rowLimit')}</Button>] : []}
    >
      <Paragraph>
        <strong>{effectiveLimitText(text, object)}</strong> · <span data-testid="summary-usage">{usageText(text, object)}</span> · <SendingStatus row={object} />
      </Paragraph>
      {readOnlyReason ? <Paragraph>{readOnlyReason}</Paragraph> : null}
      {open ? (
        <LimitDialog
          level={level}
          rows={[object]}
          onClose={() => setOpen(false)}
          onSaved={() => {
            setOpen(false);
            onSaved();
          }}
        />
      ) : null}
    </Section>
  );
}

/** Loads one object and keeps it live. */
export function useObject(level: Level, name: string): Resource<ObjectRow> {
  const { api, pollMs } = useEnvironment();
  const load = useCallback(() => api.object(level, name), [api, level, name]);
  return useResource(load, `${level}:${name}`, pollMs);
}
