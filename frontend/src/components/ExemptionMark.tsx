import { Alert, Button, Dialog, FormFieldRadioButtons, FormFieldText, Label, Paragraph } from '@plesk/ui-library';
import { createElement, Fragment, useState } from 'react';
import { MAX_LIMIT } from '../../../backend-bridge/src/core/limits.js';
import { ApiFailure } from '../api/client';
import type { ExemptionView, Limit, ObjectRow } from '../api/types';
import { useEnvironment } from '../app/environment';
import { formatDateTime, formatNumber } from '../app/locale';
import { useReasonText } from '../app/reasons';
import { useText } from '../app/text';
import { useToasts } from '../app/toasts';

type Text = ReturnType<typeof useText>;

/** "Raised to 5,000 per hour and Unlimited per day": what an exemption raises, in the person's language. */
export function exemptionWhat(text: Text, exemption: Pick<ExemptionView, 'hourly' | 'daily'>): string {
  const hourly = exemption.hourly === null ? null : exemption.hourly === 'unlimited' ? text('exemptions.liftedHourly') : text('exemptions.raisedHourly', { value: formatNumber(exemption.hourly) });
  const daily = exemption.daily === null ? null : exemption.daily === 'unlimited' ? text('exemptions.liftedDaily') : text('exemptions.raisedDaily', { value: formatNumber(exemption.daily) });
  if (hourly && daily) return text('exemptions.and', { first: hourly, second: daily });
  return hourly ?? daily ?? '';
}

/** "Raised to 5,000 per hour until Dec 5, 2026, 6:00 PM": the row's badge and the overview's words. */
export function exemptionText(text: Text, exemption: ExemptionView): string {
  return text('exemptions.badge', { what: exemptionWhat(text, exemption), end: formatDateTime(exemption.endsAt) });
}

/** The badge beside the name of an object whose limit is raised or lifted for a while, with its end. */
export function ExemptionLabel({ row }: { row: Pick<ObjectRow, 'exemption'> }) {
  const text = useText();
  return row.exemption ? (
    <Fragment>
      {' '}
      {/* Not in capitals: a sentence with a date reads better as written. */}
      <Label intent="info" caps={false} data-testid="exemption-badge">
        {exemptionText(text, row.exemption)}
      </Label>
    </Fragment>
  ) : null;
}

/** The refusal of an exemption request in the person's language: the exemption codes here, the rest as elsewhere. */
function useExemptionRefusal(): (failure: unknown) => string {
  const text = useText();
  const reasons = useReasonText();
  return (failure) => {
    if (failure instanceof ApiFailure && failure.code && ['exemptionNotForYou', 'exemptionByHigherRole', 'noExemption'].includes(failure.code)) {
      return text(`exemptions.refusal.${failure.code}`, failure.params as Record<string, string>);
    }
    return reasons.refusal(failure);
  };
}

/**
 * "Exempt Temporarily" on the row of an administrator or reseller who may (the API says so in mayExempt). The list
 * holds the open dialog, not the row: a row is drawn anew on every live refresh, and a dialog kept in it closed
 * under the person's hands.
 */
export function ExemptionAction({ row, onOpen }: { row: ObjectRow; onOpen: (row: ObjectRow) => void }) {
  const text = useText();
  if (!row.mayExempt) return null;
  const label = text('exemptions.actionOf', { name: row.name });
  return (
    <Button ghost aria-label={label} tooltip={label} onClick={() => onOpen(row)}>
      {text('exemptions.action')}
    </Button>
  );
}

type Mode = 'keep' | 'raise' | 'unlimited';

interface Values {
  hourlyMode: Mode;
  hourlyValue: string;
  dailyMode: Mode;
  dailyValue: string;
  /** A datetime-local value (the person's own time zone), e.g. 2026-12-05T18:00. */
  until: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A moment as a datetime-local field writes it, in the browser's time zone. */
function localInputValue(atMs: number): string {
  const d = new Date(atMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Where a dialog starts: the current exemption's values, else nothing raised, ending in 24 hours (on the hour). */
function initialValues(row: ObjectRow): Values {
  const e = row.exemption;
  const modeOf = (value: Limit | null): Mode => (value === null ? 'keep' : value === 'unlimited' ? 'unlimited' : 'raise');
  const valueOf = (value: Limit | null) => (typeof value === 'number' ? String(value) : '');
  const end = e ? Date.parse(e.endsAt) : Math.ceil((Date.now() + 86_400_000) / 3_600_000) * 3_600_000;
  return { hourlyMode: modeOf(e?.hourly ?? null), hourlyValue: valueOf(e?.hourly ?? null), dailyMode: modeOf(e?.daily ?? null), dailyValue: valueOf(e?.daily ?? null), until: localInputValue(end) };
}

function typedRaise(raw: string): number | null {
  const trimmed = raw.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return value >= 1 && value <= MAX_LIMIT ? value : null;
}

/**
 * "Exempt Temporarily": the hourly and the daily limit each kept, raised to a number or lifted, until a date and
 * time in the person's own time zone. The API checks the rest (a real raise, in the future, at most 31 days) and
 * its answer is shown on the field it concerns. A current exemption can be ended here at once.
 */
export function ExemptionDialog({ row, onClose, onSaved }: { row: ObjectRow; onClose: () => void; onSaved: (saved: ExemptionView | null) => void }) {
  const { api } = useEnvironment();
  const text = useText();
  const refusal = useExemptionRefusal();
  const toasts = useToasts();
  const [values, setValues] = useState<Values>(() => initialValues(row));
  const [submitted, setSubmitted] = useState(false);
  const [apiErrors, setApiErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const hourly = values.hourlyMode === 'raise' ? typedRaise(values.hourlyValue) : null;
  const daily = values.dailyMode === 'raise' ? typedRaise(values.dailyValue) : null;
  const untilMs = values.until ? new Date(values.until).getTime() : Number.NaN;
  const nothingRaised = values.hourlyMode === 'keep' && values.dailyMode === 'keep';

  const errors: Record<string, { invalid: string }> = {};
  const numberError = text('exemptions.enterNumber', { max: formatNumber(MAX_LIMIT) });
  if (values.hourlyMode === 'raise' && hourly === null && (submitted || values.hourlyValue.trim() !== '')) errors.hourlyValue = { invalid: numberError };
  else if (apiErrors.hourly) errors.hourlyValue = { invalid: apiErrors.hourly };
  if (values.dailyMode === 'raise' && daily === null && (submitted || values.dailyValue.trim() !== '')) errors.dailyValue = { invalid: numberError };
  else if (apiErrors.daily) errors.dailyValue = { invalid: apiErrors.daily };
  if (submitted && Number.isNaN(untilMs)) errors.until = { invalid: text('exemptions.enterEnd') };
  else if (apiErrors.until) errors.until = { invalid: apiErrors.until };

  const submit = async () => {
    setSubmitted(true);
    if (nothingRaised || Number.isNaN(untilMs)) return;
    if ((values.hourlyMode === 'raise' && hourly === null) || (values.dailyMode === 'raise' && daily === null)) return;
    const limitOf = (mode: Mode, typed: number | null): Limit | undefined => (mode === 'keep' ? undefined : mode === 'unlimited' ? 'unlimited' : (typed ?? undefined));
    setSaving(true);
    setApiErrors({});
    setFailure(null);
    try {
      const saved = await api.setExemption(row.level, row.name, { hourly: limitOf(values.hourlyMode, hourly), daily: limitOf(values.dailyMode, daily), until: new Date(untilMs).toISOString() });
      toasts.success(text('exemptions.saved', { name: row.name, end: formatDateTime(saved.endsAt) }));
      onSaved(saved);
    } catch (error) {
      const apiFailure = error instanceof ApiFailure ? error : new ApiFailure(String(error), null);
      const fields = apiFailure.fields;
      if (fields.hourly || fields.daily || fields.until) setApiErrors(fields);
      else setFailure(text('common.saveFailed', { reason: refusal(apiFailure) }));
    } finally {
      setSaving(false);
    }
  };

  const endNow = async () => {
    try {
      await api.endExemption(row.level, row.name);
      toasts.success(text('exemptions.ended', { name: row.name }));
      onSaved(null);
    } catch (error) {
      setFailure(text('exemptions.endFailed', { name: row.name, reason: refusal(error) }));
    }
  };

  const limitWords = (limit: Limit) => (limit === 'unlimited' ? text('exemptions.unlimited') : formatNumber(limit));
  const options = (which: 'hourly' | 'daily') => [
    { value: 'keep', label: text(which === 'hourly' ? 'exemptions.keepHourly' : 'exemptions.keepDaily', { value: limitWords(which === 'hourly' ? row.effectiveLimit : row.daily.effectiveLimit) }) },
    {
      value: 'raise',
      label: text(which === 'hourly' ? 'exemptions.raiseHourly' : 'exemptions.raiseDaily'),
      indentFields: [
        <FormFieldText
          key={`${which}Value`}
          name={`${which}Value`}
          label={text(which === 'hourly' ? 'exemptions.hourlyValue' : 'exemptions.dailyValue')}
          disabled={values[`${which}Mode`] !== 'raise'}
          inputProps={{ inputMode: 'numeric', maxLength: 13 }}
          size="md"
        />,
      ],
    },
    { value: 'unlimited', label: text(which === 'hourly' ? 'exemptions.unlimitedHourly' : 'exemptions.unlimitedDaily') },
  ];

  const current = row.exemption;
  return (
    <Dialog
      isOpen
      size="sm"
      title={text('exemptions.title')}
      subtitle={text('exemptions.subtitle', { name: row.name })}
      onClose={onClose}
      form={{
        values,
        errors,
        onFieldChange: (name: string, value: unknown) => {
          setApiErrors({});
          setValues((before) => ({ ...before, [name]: String(value) }));
        },
        onSubmit: () => void submit(),
        submitButton: { children: text('common.ok'), state: saving ? 'loading' : undefined, disabled: nothingRaised },
        cancelButton: { children: text('common.cancel'), onClick: onClose },
      }}
    >
      {failure ? <Alert intent="danger">{failure}</Alert> : null}
      {current ? (
        <Paragraph>
          {text('exemptions.current', { what: exemptionWhat(text, current), end: formatDateTime(current.endsAt), login: current.setBy })}{' '}
          {current.mayChange ? <Button onClick={() => void endNow()}>{text('exemptions.endNow')}</Button> : null}
        </Paragraph>
      ) : null}
      <FormFieldRadioButtons name="hourlyMode" label={text('exemptions.hourlyLabel')} options={options('hourly')} />
      <FormFieldRadioButtons name="dailyMode" label={text('exemptions.dailyLabel')} options={options('daily')} description={nothingRaised ? text('exemptions.chooseOne') : undefined} />
      <FormFieldText name="until" label={text('exemptions.until')} description={text('exemptions.untilHint')} inputProps={{ type: 'datetime-local' }} size="lg" />
    </Dialog>
  );
}
