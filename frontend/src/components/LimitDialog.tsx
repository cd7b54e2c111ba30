import { Alert, Dialog, FormFieldRadioButtons, FormFieldText, Paragraph } from '@plesk/ui-library';
import { createElement, useState } from 'react';
import { ApiFailure } from '../api/client';
import type { Level, ObjectRow } from '../api/types';
import { useEnvironment } from '../app/environment';
import { useText } from '../app/text';
import { useToasts } from '../app/toasts';

type Mode = 'default' | 'unlimited' | 'custom';

interface LimitDialogProps {
  level: Level;
  /** One object, or several selected ones ("Limit Outgoing Messages" on a selection). */
  rows: ObjectRow[];
  onClose: () => void;
  onSaved: (rows: ObjectRow[]) => void;
}

function initialValues(rows: ObjectRow[]): { mode: Mode; value: string } {
  const own = rows.length === 1 ? rows[0]?.ownLimit : undefined;
  if (typeof own === 'number') return { mode: 'custom', value: String(own) };
  if (own === 'unlimited') return { mode: 'unlimited', value: '' };
  return { mode: 'default', value: '' };
}

/** The lowest cap among the rows: the value that may be set for all of them. */
function tightestCeiling(rows: ObjectRow[]): ObjectRow['ceiling'] {
  let tightest: ObjectRow['ceiling'] = null;
  for (const row of rows) if (row.ceiling && (!tightest || row.ceiling.max < tightest.max)) tightest = row.ceiling;
  return tightest;
}

/**
 * "Limit Outgoing Messages": the default (with its value), Unlimited, or a number; shows the highest value this
 * user may set and why. Whether a value is allowed is the API's decision: its field message shows at the field.
 */
export function LimitDialog({ level, rows, onClose, onSaved }: LimitDialogProps) {
  const { api } = useEnvironment();
  const text = useText();
  const toasts = useToasts();
  const [values, setValues] = useState(() => initialValues(rows));
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const first = rows[0];
  const defaultLimit = first?.defaultLimit ?? 'unlimited';
  const ceiling = tightestCeiling(rows);

  const submit = async () => {
    const raw = values.value.trim();
    // Digits become a number; anything else goes as typed so that the API names what is wrong with it.
    const limit = values.mode === 'custom' ? (/^\d+$/.test(raw) ? Number(raw) : raw) : values.mode;
    setSaving(true);
    setFieldError(null);
    setFailure(null);
    try {
      const names = rows.map((row) => row.name);
      const saved = names.length === 1 ? [await api.setLimit(level, names[0] ?? '', limit)] : (await api.setLimits(level, names, limit)).items;
      toasts.success(saved.length === 1 ? text('dialog.saved', { name: saved[0]?.name ?? '' }) : text('dialog.savedMany', { count: saved.length }));
      onSaved(saved);
    } catch (error) {
      const apiFailure = error instanceof ApiFailure ? error : new ApiFailure(String(error), null);
      if (apiFailure.fields.limit) setFieldError(apiFailure.fields.limit);
      else setFailure(text('common.saveFailed', { reason: apiFailure.message }));
    } finally {
      setSaving(false);
    }
  };

  const valueField = (
    <FormFieldText
      key="value"
      name="value"
      label={text('dialog.value')}
      disabled={values.mode !== 'custom'}
      inputProps={{ inputMode: 'numeric' }}
      size="sm"
    />
  );

  return (
    <Dialog
      isOpen
      size="sm"
      title={text('dialog.title')}
      subtitle={rows.length === 1 ? text('dialog.subtitleOne', { name: first?.name ?? '' }) : text('dialog.subtitleMany', { count: rows.length })}
      onClose={onClose}
      form={{
        values,
        errors: fieldError ? { value: { api: fieldError } } : {},
        onFieldChange: (name: string, value: unknown) => {
          setValues((current) => ({ ...current, [name]: String(value) }));
          if (name === 'value') setFieldError(null);
        },
        onSubmit: () => void submit(),
        submitButton: { children: text('common.ok'), state: saving ? 'loading' : undefined },
        cancelButton: { children: text('common.cancel'), onClick: onClose },
      }}
    >
      <Paragraph>{ceiling ? text('dialog.ceiling', { max: ceiling.max, reason: ceiling.reason }) : text('dialog.noCeiling')}</Paragraph>
      {failure ? (
        <Alert intent="danger">
          {failure}
        </Alert>
      ) : null}
      <FormFieldRadioButtons
        name="mode"
        label={text('dialog.valueLabel')}
        options={[
          { value: 'default', label: defaultLimit === 'unlimited' ? text('dialog.useDefaultUnlimited') : text('dialog.useDefault', { value: defaultLimit }) },
          { value: 'unlimited', label: text('dialog.unlimited') },
          { value: 'custom', label: text('dialog.custom'), indentFields: [valueField] },
        ]}
      />
    </Dialog>
  );
}
