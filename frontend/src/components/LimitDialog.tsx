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
  /** The daily limit (rolling 24 hours), chosen the same way. */
  dailyMode: Mode;
  dailyValue: string;
  /** The maximum of recipients in one message, chosen the same way. */
  recipientsMode: Mode;
  recipientsValue: string;
  /** Administrators and resellers: whether the roles below may change the value (unchecked: locked). */
  letChange: boolean;
}

/** The lowest cap among the rows: the value that may be set for all of them. */
function tightestCeiling(rows: ObjectRow[], ceilingOf: (row: ObjectRow) => ObjectRow['ceiling'] = (row) => row.ceiling): ObjectRow['ceiling'] {
  let tightest: ObjectRow['ceiling'] = null;
  for (const row of rows) {
    const ceiling = ceilingOf(row);
    if (ceiling && (!tightest || ceiling.max < tightest.max)) tightest = ceiling;
  }
  return tightest;
}

/** Where one window's choice starts: as initialValues says, for the given own value. */
function initialChoice(rows: ObjectRow[], own: (row: ObjectRow) => ObjectRow['ownLimit'], offers: { default: boolean; unlimited: boolean }): { mode: Mode; value: string } {
  const row = rows.length === 1 ? rows[0] : undefined;
  if (!row) return { mode: 'keep', value: '' };
  const ownLimit = own(row);
  if (typeof ownLimit === 'number') return { mode: 'custom', value: String(ownLimit) };
  if (ownLimit === 'unlimited' && offers.unlimited) return { mode: 'unlimited', value: '' };
  if (ownLimit === 'default' && offers.default) return { mode: 'default', value: '' };
  return { mode: 'custom', value: '' };
}

/**
 * Where the dialog starts: a selection keeps each own value; one object shows its own value, unless the caller
 * could not keep it (then a number is asked for, never a choice that is not on offer).
 */
function initialValues(rows: ObjectRow[], offers: { default: boolean; unlimited: boolean }, dailyOffers: { default: boolean; unlimited: boolean }): Values {
  const row = rows.length === 1 ? rows[0] : undefined;
  // The dialog starts from the lock as it is; a selection from open (a typed 0 then locks, see setField).
  const letChange = row ? row.lockedBy === null : true;
  const hourly = initialChoice(rows, (r) => r.ownLimit, offers);
  const daily = initialChoice(rows, (r) => r.daily.ownLimit, dailyOffers);
  // No ceiling for the maximum of recipients (the tightest of the chain applies): every choice is on offer.
  const recipients = initialChoice(rows, (r) => r.recipients.ownLimit, { default: true, unlimited: true });
  return { mode: hourly.mode, value: hourly.value, dailyMode: daily.mode, dailyValue: daily.value, recipientsMode: recipients.mode, recipientsValue: recipients.value, letChange };
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
  const dailyOffers = {
    default: changeable.every((row) => row.daily.mayChooseDefault),
    unlimited: changeable.every((row) => row.daily.mayChooseUnlimited),
  };
  const dailyCeiling = tightestCeiling(changeable, (row) => row.daily.ceiling);
  const dailyMax = dailyCeiling?.max ?? MAX_LIMIT;
  const mayLock = changeable.length > 0 && changeable.every((row) => row.mayLock);
  const single = rows.length === 1 ? rows[0] : undefined;

  const [values, setValues] = useState<Values>(() => initialValues(rows, offers, dailyOffers));
  // The daily value is sent only once the person has touched it: a daily choice the dialog could not start on
  // (an empty number) never stops a change of the hourly value.
  const [dailyTouched, setDailyTouched] = useState(false);
  const [dailyApiFieldError, setDailyApiFieldError] = useState<string | null>(null);
  const [letChangeTouched, setLetChangeTouched] = useState(false);
  const [submitted, setSubmitted] = useState(false);
  const [apiFieldError, setApiFieldError] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const defaultLimit = changeable[0]?.defaultLimit ?? 'unlimited';
  const dailyDefaultLimit = changeable[0]?.daily.defaultLimit ?? 'unlimited';
  const sendsDaily = dailyTouched && values.dailyMode !== 'keep';
  // The maximum of recipients, like the daily value, is sent only once touched.
  const [recipientsTouched, setRecipientsTouched] = useState(false);
  const [recipientsApiFieldError, setRecipientsApiFieldError] = useState<string | null>(null);
  const recipientsDefault = changeable[0]?.recipients.defaultLimit ?? 'unlimited';
  const sendsRecipients = recipientsTouched && values.recipientsMode !== 'keep';
  const sendsOther = sendsDaily || sendsRecipients;

  const typed = values.mode === 'custom' ? typedLimit(values.value, max) : null;
  // Shown as soon as something wrong is typed, or at OK when nothing was: never for a field not in use.
  const formatError =
    values.mode === 'custom' && typed === null && (values.value.trim() !== '' || submitted) ? text('dialog.enterNumber', { max: formatNumber(max) }) : null;
  const fieldError = values.mode === 'custom' ? (formatError ?? apiFieldError) : null;
  const dailyTyped = values.dailyMode === 'custom' ? typedLimit(values.dailyValue, dailyMax) : null;
  const dailyFormatError =
    sendsDaily && values.dailyMode === 'custom' && dailyTyped === null && (values.dailyValue.trim() !== '' || submitted)
      ? text('dialog.enterNumber', { max: formatNumber(dailyMax) })
      : null;
  const dailyFieldError = values.dailyMode === 'custom' ? (dailyFormatError ?? dailyApiFieldError) : null;
  const recipientsTyped = values.recipientsMode === 'custom' ? typedLimit(values.recipientsValue, MAX_LIMIT) : null;
  const recipientsValid = recipientsTyped !== null && recipientsTyped >= 1;
  const recipientsFormatError =
    sendsRecipients && values.recipientsMode === 'custom' && !recipientsValid && (values.recipientsValue.trim() !== '' || submitted)
      ? text('recipients.enterNumber', { max: formatNumber(MAX_LIMIT) })
      : null;
  const recipientsFieldError = values.recipientsMode === 'custom' ? (recipientsFormatError ?? recipientsApiFieldError) : null;

  const submit = async () => {
    setSubmitted(true);
    if ((values.mode === 'keep' && !sendsOther) || changeable.length === 0) return;
    if (values.mode === 'custom' && typed === null) return;
    if (sendsDaily && values.dailyMode === 'custom' && dailyTyped === null) return;
    if (sendsRecipients && values.recipientsMode === 'custom' && !recipientsValid) return;
    const limit = values.mode === 'keep' ? undefined : values.mode === 'custom' ? (typed ?? 0) : values.mode;
    const dailyLimit = !sendsDaily ? undefined : values.dailyMode === 'custom' ? (dailyTyped ?? 0) : values.dailyMode === 'keep' ? undefined : values.dailyMode;
    const recipientLimit = !sendsRecipients ? undefined : values.recipientsMode === 'custom' ? (recipientsTyped ?? 1) : values.recipientsMode === 'keep' ? undefined : values.recipientsMode;
    const locked = mayLock ? !values.letChange : undefined;
    setSaving(true);
    setRecipientsApiFieldError(null);
    setApiFieldError(null);
    setDailyApiFieldError(null);
    setFailure(null);
    try {
      const names = changeable.map((row) => row.name);
      const saved =
        rows.length === 1
          ? [await api.setLimit(level, names[0] ?? '', limit, locked, dailyLimit, recipientLimit)]
          : (await api.setLimits(level, names, limit, locked, dailyLimit, recipientLimit)).items;
      toasts.success(rows.length === 1 ? text('dialog.saved', { name: saved[0]?.name ?? '' }) : pluralText(text, `dialog.savedMany.${level}`, saved.length));
      onSaved(saved);
    } catch (error) {
      const apiFailure = error instanceof ApiFailure ? error : new ApiFailure(String(error), null);
      // The API's field sentence is English: its code says the same in the person's language.
      if (apiFailure.fields.limit && values.mode === 'custom') setApiFieldError(apiFailure.code ? reasons.refusal(apiFailure) : apiFailure.fields.limit);
      else if (apiFailure.fields.dailyLimit && values.dailyMode === 'custom') setDailyApiFieldError(apiFailure.code ? reasons.refusal(apiFailure) : apiFailure.fields.dailyLimit);
      else if (apiFailure.fields.recipientLimit && values.recipientsMode === 'custom') setRecipientsApiFieldError(text('recipients.enterNumber', { max: formatNumber(MAX_LIMIT) }));
      else setFailure(text('common.saveFailed', { reason: reasons.refusal(apiFailure) }));
    } finally {
      setSaving(false);
    }
  };

  const setField = (name: string, value: unknown) => {
    setApiFieldError(null);
    setDailyApiFieldError(null);
    if (name === 'dailyMode' || name === 'dailyValue') setDailyTouched(true);
    if (name === 'recipientsMode' || name === 'recipientsValue') setRecipientsTouched(true);
    setRecipientsApiFieldError(null);
    if (name === 'letChange') {
      setLetChangeTouched(true);
      setValues((current) => ({ ...current, letChange: value === true }));
      return;
    }
    setValues((current) => {
      const next = { ...current, [name]: String(value) };
      // Until the user decides, an open value follows the rule "a 0 is locked, anything else open".
      if (!letChangeTouched && single?.lockedBy == null) {
        const zero = (mode: Mode, typedValue: string) => mode === 'custom' && typedLimit(typedValue, MAX_LIMIT) === 0;
        next.letChange = !(zero(next.mode, next.value) || zero(next.dailyMode, next.dailyValue));
      }
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

  const dailyValueField = (
    <FormFieldText key="dailyValue" name="dailyValue" label={text('daily.value')} disabled={values.dailyMode !== 'custom'} inputProps={{ inputMode: 'numeric', maxLength: 13 }} size="md" />
  );

  const dailyOptions = [
    ...(rows.length > 1 ? [{ value: 'keep', label: text('daily.keep') }] : []),
    ...(dailyOffers.default
      ? [{ value: 'default', label: dailyDefaultLimit === 'unlimited' ? text('daily.useDefaultUnlimited') : text('daily.useDefault', { value: formatNumber(dailyDefaultLimit) }) }]
      : []),
    ...(dailyOffers.unlimited ? [{ value: 'unlimited', label: text('daily.unlimited') }] : []),
    { value: 'custom', label: text('daily.custom'), indentFields: [dailyValueField] },
  ];

  const dailyWhy = dailyCeiling ? <Paragraph>{text('daily.providerMax', { max: formatNumber(dailyCeiling.max), reason: text(`reasons.ceilingDaily.${dailyCeiling.level}`, { name: dailyCeiling.name, max: dailyCeiling.max }) })}</Paragraph> : null;

  const recipientsValueField = (
    <FormFieldText key="recipientsValue" name="recipientsValue" label={text('recipients.value')} disabled={values.recipientsMode !== 'custom'} inputProps={{ inputMode: 'numeric', maxLength: 13 }} size="md" />
  );

  const recipientsOptions = [
    ...(rows.length > 1 ? [{ value: 'keep', label: text('recipients.keep') }] : []),
    {
      value: 'default',
      label: recipientsDefault === 'unlimited' ? text('recipients.useDefaultUnlimited') : text('recipients.useDefault', { value: formatNumber(recipientsDefault) }),
    },
    { value: 'unlimited', label: text('recipients.unlimited') },
    { value: 'custom', label: text('recipients.custom'), indentFields: [recipientsValueField] },
  ];

  // One object: what its messages meet now, which may be set on a level above it.
  const recipientsInForce = single?.recipients.tightest ?? null;

  const fieldErrors: Record<string, { invalid: string }> = {};
  if (recipientsFieldError) fieldErrors.recipientsValue = { invalid: recipientsFieldError };
  if (fieldError) fieldErrors.value = { invalid: fieldError };
  if (dailyFieldError) fieldErrors.dailyValue = { invalid: dailyFieldError };

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
        errors: fieldErrors,
        onFieldChange: setField,
        onSubmit: () => void submit(),
        submitButton:
          changeable.length === 0 ? false : { children: text('common.ok'), state: saving ? 'loading' : undefined, disabled: values.mode === 'keep' && !sendsOther },
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
          {dailyWhy}
          <FormFieldRadioButtons name="dailyMode" label={text('daily.dialogLabel')} options={dailyOptions} />
          {recipientsInForce ? (
            <Paragraph>
              {text('recipients.inForce', { maximum: formatNumber(recipientsInForce.maximum), level: text(`reasons.levelOf.${recipientsInForce.level}`), name: recipientsInForce.name })}
            </Paragraph>
          ) : null}
          <FormFieldRadioButtons name="recipientsMode" label={text('recipients.dialogLabel')} options={recipientsOptions} description={text('recipients.hint')} />
          {mayLock && (values.mode !== 'keep' || sendsOther) ? (
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
