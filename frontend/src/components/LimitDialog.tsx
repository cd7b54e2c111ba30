import { Alert, Dialog, FormFieldCheckbox, FormFieldRadioButtons, FormFieldText, Paragraph } from '@plesk/ui-library';
import { createElement, Fragment, useState } from 'react';
import { MAX_LIMIT } from '../../../backend-bridge/src/core/limits.js';
import { ApiFailure } from '../api/client';
import type { Level, ObjectRow } from '../api/types';
import { useEnvironment } from '../app/environment';
import { formatNumber } from '../app/locale';
import { pluralText } from '../app/plural';
import { useReasonText } from '../app/reasons';
import { useText } from '../app/text';
import { useToasts } from '../app/toasts';

/** "keep": the bulk dialog's start, each selected object keeps its own value. */
type Mode = 'keep' | 'default' | 'unlimited' | 'custom';

interface LimitDialogProps {
  level: Level;
  /** One object, or several selected ones ("Limit Outgoing Messages" on a selection). */
  rows: ObjectRow[];
  onClose: () => void;
  onSaved: (rows: ObjectRow[]) => void;
}

interface Values {
  mode: Mode;
  value: string;
  /** Administrators and resellers: whether the roles below may change the value (unchecked: locked). */
  letChange: boolean;
}

/** The lowest cap among the rows: the value that may be set for all of them. */
function tightestCeiling(rows: ObjectRow[]): ObjectRow['ceiling'] {
  let tightest: ObjectRow['ceiling'] = null;
  for (const row of rows) if (row.ceiling && (!tightest || row.ceiling.max < tightest.max)) tightest = row.ceiling;
  return tightest;
}

/**
 * Where the dialog starts: a selection keeps each own value; one object shows its own value, unless the caller
 * could not keep it (then a number is asked for, never a choice that is not on offer).
 */
function initialValues(rows: ObjectRow[], offers: { default: boolean; unlimited: boolean }): Values {
  const row = rows.length === 1 ? rows[0] : undefined;
  // The dialog starts from the lock as it is; a selection from open (a typed 0 then locks, see setField).
  const letChange = row ? row.lockedBy === null : true;
  if (!row) return { mode: 'keep', value: '', letChange };
  if (typeof row.ownLimit === 'number') return { mode: 'custom', value: String(row.ownLimit), letChange };
  if (row.ownLimit === 'unlimited' && offers.unlimited) return { mode: 'unlimited', value: '', letChange };
  if (row.ownLimit === 'default' && offers.default) return { mode: 'default', value: '', letChange };
  return { mode: 'custom', value: '', letChange };
}

/** The typed number, or null when it is not a whole number from 0 to `max`. */
function typedLimit(raw: string, max: number): number | null {
  const trimmed = raw.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return value <= max ? value : null;
}

/**
 * "Limit Outgoing Messages": the default (with its value), Unlimited, or a number, offering only what the API
 * says this user may choose (and saying why the rest is not there). A number is checked as it is typed.
 * Administrators and resellers choose whether the roles below may change the value; a value locked by a higher
 * role says who set it, and a selection leaves such objects out.
 */
export function LimitDialog({ level, rows, onClose, onSaved }: LimitDialogProps) {
  const { api, session } = useEnvironment();
  const text = useText();
  const reasons = useReasonText();
  const toasts = useToasts();
  const changeable = rows.filter((row) => !row.lockedForYou);
  const lockedRows = rows.filter((row) => row.lockedForYou);
  const offers = {
    default: changeable.every((row) => row.mayChooseDefault),
    unlimited: changeable.every((row) => row.mayChooseUnlimited),
  };
  const ceiling = tightestCeiling(changeable);
  const max = ceiling?.max ?? MAX_LIMIT;
  const mayLock = changeable.length > 0 && changeable.every((row) => row.mayLock);
  const single = rows.length === 1 ? rows[0] : undefined;

  const [values, setValues] = useState<Values>(() => initialValues(rows, offers));
  const [letChangeTouched, setLetChangeTouched] = useState(false);
  const [submitted, setSubmitted] = useState(false);
  const [apiFieldError, setApiFieldError] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const defaultLimit = changeable[0]?.defaultLimit ?? 'unlimited';

  const typed = values.mode === 'custom' ? typedLimit(values.value, max) : null;
  // Shown as soon as something wrong is typed, or at OK when nothing was: never for a field not in use.
  const formatError =
    values.mode === 'custom' && typed === null && (values.value.trim() !== '' || submitted) ? text('dialog.enterNumber', { max: formatNumber(max) }) : null;
  const fieldError = values.mode === 'custom' ? (formatError ?? apiFieldError) : null;

  const submit = async () => {
    setSubmitted(true);
    if (values.mode === 'keep' || changeable.length === 0) return;
    if (values.mode === 'custom' && typed === null) return;
    const limit = values.mode === 'custom' ? (typed ?? 0) : values.mode;
    const locked = mayLock ? !values.letChange : undefined;
    setSaving(true);
    setApiFieldError(null);
    setFailure(null);
    try {
      const names = changeable.map((row) => row.name);
      const saved = rows.length === 1 ? [await api.setLimit(level, names[0] ?? '', limit, locked)] : (await api.setLimits(level, names, limit, locked)).items;
      toasts.success(rows.length === 1 ? text('dialog.saved', { name: saved[0]?.name ?? '' }) : pluralText(text, `dialog.savedMany.${level}`, saved.length));
      onSaved(saved);
    } catch (error) {
      const apiFailure = error instanceof ApiFailure ? error : new ApiFailure(String(error), null);
      // The API's field sentence is English: its code says the same in the person's language.
      if (apiFailure.fields.limit && values.mode === 'custom') setApiFieldError(apiFailure.code ? reasons.refusal(apiFailure) : apiFailure.fields.limit);
      else setFailure(text('common.saveFailed', { reason: reasons.refusal(apiFailure) }));
    } finally {
      setSaving(false);
    }
  };

  const setField = (name: string, value: unknown) => {
    setApiFieldError(null);
    if (name === 'letChange') {
      setLetChangeTouched(true);
      setValues((current) => ({ ...current, letChange: value === true }));
      return;
    }
    setValues((current) => {
      const next = { ...current, [name]: String(value) };
      // Until the user decides, an open value follows the rule "a 0 is locked, anything else open".
      if (!letChangeTouched && single?.lockedBy == null) next.letChange = !(next.mode === 'custom' && typedLimit(next.value, MAX_LIMIT) === 0);
      return next;
    });
  };

  const roleName = (role: 'admin' | 'reseller') => text(`roles.${role}`);
  const lockNotes = lockedRows.map((row) => (
    <Alert key={row.name} intent="warning">
      {text(rows.length === 1 ? 'dialog.lockedForYou' : 'dialog.lockedSkipped', { name: row.name, role: roleName(row.lockedByRole ?? 'admin'), login: row.lockedBy ?? '' })}
    </Alert>
  ));

  const valueField = (
    <FormFieldText
      key="value"
      name="value"
      label={text('dialog.value')}
      disabled={values.mode !== 'custom'}
      inputProps={{ inputMode: 'numeric', maxLength: 13 }}
      // 200 px: ten digits and their separators stay visible.
      size="md"
    />
  );

  const options = [
    ...(rows.length > 1 ? [{ value: 'keep', label: text('dialog.keep') }] : []),
    ...(offers.default
      ? [{ value: 'default', label: defaultLimit === 'unlimited' ? text('dialog.useDefaultUnlimited') : text('dialog.useDefault', { value: formatNumber(defaultLimit) }) }]
      : []),
    ...(offers.unlimited ? [{ value: 'unlimited', label: text('dialog.unlimited') }] : []),
    { value: 'custom', label: text('dialog.custom'), indentFields: [valueField] },
  ];

  const why = ceiling ? (
    <Paragraph>
      {text('dialog.providerMax', { max: formatNumber(ceiling.max), reason: text(`reasons.ceiling.${ceiling.level}`, { name: ceiling.name, max: ceiling.max }) })}
      {!offers.default && defaultLimit !== 'unlimited' ? ` ${text('dialog.defaultAbove', { value: formatNumber(defaultLimit) })}` : null}
    </Paragraph>
  ) : (
    <Paragraph>{text('dialog.noCeiling')}</Paragraph>
  );

  const currentLock = single && single.lockedBy !== null && !single.lockedForYou ? (
    <Paragraph>{text('dialog.lockedBy', { role: roleName(single.lockedByRole ?? 'admin'), login: single.lockedBy })}</Paragraph>
  ) : null;

  return (
    <Dialog
      isOpen
      size="sm"
      title={text('dialog.title')}
      subtitle={single ? text('dialog.subtitleOne', { name: single.name }) : pluralText(text, `dialog.subtitleMany.${level}`, rows.length)}
      onClose={onClose}
      form={{
        values,
        errors: fieldError ? { value: { invalid: fieldError } } : {},
        onFieldChange: setField,
        onSubmit: () => void submit(),
        submitButton:
          changeable.length === 0 ? false : { children: text('common.ok'), state: saving ? 'loading' : undefined, disabled: values.mode === 'keep' },
        // Nothing to save: the only way out is Close.
        cancelButton: { children: text(changeable.length === 0 ? 'dialog.close' : 'common.cancel'), onClick: onClose },
      }}
    >
      {lockNotes}
      {failure ? <Alert intent="danger">{failure}</Alert> : null}
      {changeable.length > 0 ? (
        <>
          {why}
          {currentLock}
          <FormFieldRadioButtons name="mode" label={text('dialog.valueLabel')} options={options} description={values.mode === 'keep' ? text('dialog.keepHint') : undefined} />
          {mayLock && values.mode !== 'keep' ? (
            <FormFieldCheckbox
              name="letChange"
              label={text(session.role === 'admin' ? 'dialog.letChangeAdmin' : 'dialog.letChangeReseller')}
              description={values.letChange ? undefined : text('dialog.lockedHint')}
            />
          ) : null}
        </>
      ) : null}
    </Dialog>
  );
}
