import { Alert, Checkbox, Form, FormField, FormFieldCheckbox, FormFieldRadioButtons, FormFieldText, Heading, Input, Section } from '@plesk/ui-library';
import { createElement, Fragment, useCallback, useEffect, useState, type ChangeEvent } from 'react';
import { ApiFailure } from '../api/client';
import type { Level, NotifyPeriod, OverLimitAction, ServerSettings, SettingsAnswer } from '../api/types';
import { useEnvironment } from '../app/environment';
import { useText } from '../app/text';
import { useToasts } from '../app/toasts';
import { useResource } from '../app/use-resource';
import { HealthPanel } from '../components/HealthPanel';
import { LoadState } from '../components/LoadState';
import { PleskTakeoverNote } from '../components/PleskTakeoverNote';
import { anomalyChange, anomalyFormField, anomalyValues, AnomalySettingsSection } from '../components/Anomalies';

const LEVELS: Level[] = ['mailbox', 'domain', 'subscription'];

interface SettingsValues {
  enabled: boolean;
  monitorOnly: boolean;
  earlyWarningPercent: string;
  mailboxLimit: string;
  mailboxUnlimited: boolean;
  domainLimit: string;
  domainUnlimited: boolean;
  subscriptionLimit: string;
  subscriptionUnlimited: boolean;
  countingUnit: string;
  customersMayChangeLimits: boolean;
  overLimitAction: string;
  adminAddress: string;
  notifyReseller: boolean;
  notifyCustomer: boolean;
  period: string;
  webhookUrl: string;
  screenUrl: string;
  [name: string]: string | boolean;
}

const PERIODS: NotifyPeriod[] = ['15m', '1h', '6h', '12h', '1d'];

/**
 * ui-library's label column is 200 px, which wraps Plesk's long labels onto three lines: this form gets the wider
 * column of Plesk's own settings forms, and stacks label over field on a phone. Scoped to this screen, and shipped
 * with it because inside Plesk only Plesk's stylesheet is on the page.
 */
const SETTINGS_LAYOUT = `
.oml-settings .pul-section-item:not(.pul-section-item--vertical) .pul-section-item__title { width: 440px; max-width: 50%; }
.oml-settings .oml-limit-field { display: inline-flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; }
@media (max-width: 600px) {
  .oml-settings .pul-section-item:not(.pul-section-item--vertical) { flex-direction: column; }
  .oml-settings .pul-section-item:not(.pul-section-item--vertical) .pul-section-item__title { width: auto; max-width: none; padding-bottom: 4px; }
}
`;

function valuesOf(settings: SettingsAnswer): SettingsValues {
  const notifications = settings.notifications;
  const values = {
    enabled: settings.mode !== 'off',
    monitorOnly: settings.mode === 'monitor',
    earlyWarningPercent: String(settings.earlyWarningPercent),
    countingUnit: settings.countingUnit,
    customersMayChangeLimits: settings.customersMayChangeLimits,
    overLimitAction: settings.overLimitAction,
    adminAddress: notifications.adminAddress ?? '',
    notifyReseller: notifications.notifyReseller,
    notifyCustomer: notifications.notifyCustomer,
    period: notifications.period,
    webhookUrl: notifications.webhookUrl ?? '',
    screenUrl: notifications.screenUrl ?? '',
    ...anomalyValues(settings.anomalies),
  } as SettingsValues;
  for (const level of LEVELS) {
    const limit = settings.defaults[level];
    values[`${level}Limit`] = limit === 'unlimited' ? '' : String(limit);
    values[`${level}Unlimited`] = limit === 'unlimited';
    const daily = settings.dailyDefaults[level];
    values[`${level}DailyLimit`] = daily === 'unlimited' ? '' : String(daily);
    values[`${level}DailyUnlimited`] = daily === 'unlimited';
    const recipients = settings.recipientDefaults[level];
    values[`${level}RecipientLimit`] = recipients === 'unlimited' ? '' : String(recipients);
    values[`${level}RecipientUnlimited`] = recipients === 'unlimited';
  }
  return values;
}

/** The API's field names → the form's. */
function formErrors(fields: Record<string, string>): Record<string, { api: string }> {
  const errors: Record<string, { api: string }> = {};
  for (const [field, message] of Object.entries(fields)) {
    const level = LEVELS.find((l) => field === `defaults.${l}`);
    const dailyLevel = LEVELS.find((l) => field === `dailyDefaults.${l}`);
    const recipientLevel = LEVELS.find((l) => field === `recipientDefaults.${l}`);
    errors[level ? `${level}Limit` : dailyLevel ? `${dailyLevel}DailyLimit` : recipientLevel ? `${recipientLevel}RecipientLimit` : (anomalyFormField(field) ?? field.replace(/^notifications\./, ''))] = { api: message };
  }
  return errors;
}

/** An empty text field switches that address off. */
const orNull = (value: string | boolean): string | null => (String(value).trim() === '' ? null : String(value).trim());

/**
 * "Limitations on outgoing email messages" (admin only): the switch, the default limit per level with
 * "Unlimited", the counting unit and whether customers may change limits; OK / Apply / Cancel.
 */
export function SettingsScreen({ onLeave }: { onLeave: () => void }) {
  const { api } = useEnvironment();
  const text = useText();
  const toasts = useToasts();
  const load = useCallback(() => api.settings(), [api]);
  const settings = useResource(load, 'settings');
  const [values, setValues] = useState<SettingsValues | null>(null);
  const [errors, setErrors] = useState<Record<string, { api: string }>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [state, setState] = useState<'submit' | 'apply' | undefined>(undefined);

  useEffect(() => {
    if (settings.data) setValues(valuesOf(settings.data));
  }, [settings.data]);

  const save = async (current: SettingsValues, isApply: boolean) => {
    const defaults: Partial<Record<Level, unknown>> = {};
    for (const level of LEVELS) {
      const raw = String(current[`${level}Limit`]).trim();
      // Digits become a number; anything else goes as typed and the API names what is wrong at the field.
      defaults[level] = current[`${level}Unlimited`] ? 'unlimited' : /^\d+$/.test(raw) ? Number(raw) : raw;
    }
    const dailyDefaults: Partial<Record<Level, unknown>> = {};
    for (const level of LEVELS) {
      const raw = String(current[`${level}DailyLimit`]).trim();
      dailyDefaults[level] = current[`${level}DailyUnlimited`] ? 'unlimited' : /^\d+$/.test(raw) ? Number(raw) : raw;
    }
    const recipientDefaults: Partial<Record<Level, unknown>> = {};
    for (const level of LEVELS) {
      const raw = String(current[`${level}RecipientLimit`]).trim();
      recipientDefaults[level] = current[`${level}RecipientUnlimited`] ? 'unlimited' : /^\d+$/.test(raw) ? Number(raw) : raw;
    }
    setState(isApply ? 'apply' : 'submit');
    setErrors({});
    setFailure(null);
    try {
      const warningRaw = String(current.earlyWarningPercent).trim();
      const saved = await api.updateSettings({
        // The switch and "Monitor only" beside it are the three modes; the switch off wins, as in the API.
        mode: !current.enabled ? 'off' : current.monitorOnly ? 'monitor' : 'enforce',
        earlyWarningPercent: /^\d+$/.test(warningRaw) ? Number(warningRaw) : warningRaw,
        defaults,
        dailyDefaults,
        recipientDefaults,
        countingUnit: current.countingUnit as ServerSettings['countingUnit'],
        customersMayChangeLimits: current.customersMayChangeLimits,
        overLimitAction: current.overLimitAction as OverLimitAction,
        notifications: {
          adminAddress: orNull(current.adminAddress),
          notifyReseller: current.notifyReseller,
          notifyCustomer: current.notifyCustomer,
          period: current.period as NotifyPeriod,
          webhookUrl: orNull(current.webhookUrl),
          screenUrl: orNull(current.screenUrl),
        },
        anomalies: anomalyChange(current),
      });
      toasts.success(text('settings.saved'));
      if (isApply) setValues(valuesOf(saved));
      else onLeave();
    } catch (error) {
      const apiFailure = error instanceof ApiFailure ? error : new ApiFailure(String(error), null);
      if (Object.keys(apiFailure.fields).length > 0) setErrors(formErrors(apiFailure.fields));
      else setFailure(text('common.saveFailed', { reason: apiFailure.message }));
    } finally {
      setState(undefined);
    }
  };

  // As in Plesk's own form: the number, then "Unlimited" beside it on the same row.
  const limitField = (name: string, unlimitedName: string, label: string, unlimitedLabel: string) => {
    const unlimited = Boolean(values?.[unlimitedName]);
    return (
      <FormField key={name} name={name} label={label}>
        {({ getId, getValue, setValue }) => (
          <span className="oml-limit-field">
            <Input id={getId()} size="sm" value={String(getValue(''))} disabled={unlimited} onChange={(event: ChangeEvent<HTMLInputElement>) => setValue(event.target.value)} />
            <Checkbox checked={unlimited} onChange={(checked: boolean) => setValues((previous) => (previous ? { ...previous, [unlimitedName]: checked } : previous))}>
              {unlimitedLabel}
            </Checkbox>
          </span>
        )}
      </FormField>
    );
  };

  return (
    <div className="oml-settings">
      <style>{SETTINGS_LAYOUT}</style>
      <Heading level={1}>{text('settings.title')}</Heading>
      <PleskTakeoverNote />
      <LoadState data={values} error={settings.error} onRetry={settings.reload}>
        {(current) => (
          <Fragment>
            {failure ? (
              <Alert intent="danger">
                {failure}
              </Alert>
            ) : null}
            <Form
              values={current}
              errors={errors}
              state={state}
              onFieldChange={(name, value) => setValues((previous) => (previous ? { ...previous, [name]: value as string | boolean } : previous))}
              onSubmit={(submitted, isApply) => void save({ ...current, ...submitted }, Boolean(isApply))}
              submitButton={{ children: text('common.ok') }}
              applyButton={{ children: text('common.apply') }}
              cancelButton={{ children: text('common.cancel'), onClick: onLeave }}
            >
              <Section>
                <FormFieldCheckbox name="enabled" label={text('settings.enabled')} />
                <FormFieldCheckbox name="monitorOnly" label={text('monitor.modeMonitor')} description={text('monitor.modeMonitorHint')} disabled={!current.enabled} />
                <FormFieldText name="earlyWarningPercent" label={text('monitor.earlyWarning')} description={text('monitor.earlyWarningHint')} size="sm" />
                {LEVELS.map((level) => limitField(`${level}Limit`, `${level}Unlimited`, text(`settings.${level}`), text('settings.unlimited')))}
                {LEVELS.map((level) => limitField(`${level}DailyLimit`, `${level}DailyUnlimited`, text(`daily.settings${level[0]!.toUpperCase()}${level.slice(1)}`), text('daily.unlimited')))}
                {LEVELS.map((level) =>
                  limitField(`${level}RecipientLimit`, `${level}RecipientUnlimited`, text(`recipients.settings${level[0]!.toUpperCase()}${level.slice(1)}`), text('recipients.settingsUnlimited')),
                )}
                <FormFieldRadioButtons
                  name="countingUnit"
                  label={text('settings.countingUnit')}
                  options={[
                    { value: 'messages', label: text('settings.messages') },
                    { value: 'recipients', label: text('settings.recipients') },
                  ]}
                />
                <FormFieldCheckbox name="customersMayChangeLimits" label={text('settings.customersMayChange')} />
                <FormFieldRadioButtons
                  name="overLimitAction"
                  label={text('settingsMail.overLimitAction')}
                  options={[
                    { value: 'hold', label: text('settingsMail.hold'), description: text('settingsMail.holdHint') },
                    { value: 'defer', label: text('settingsMail.defer'), description: text('settingsMail.deferHint') },
                  ]}
                />
              </Section>
              <Section title={text('settingsMail.notifications')}>
                <FormFieldText name="adminAddress" label={text('settingsMail.adminAddress')} description={text('settingsMail.adminAddressHint')} />
                <FormFieldCheckbox name="notifyReseller" label={text('settingsMail.notifyReseller')} />
                <FormFieldCheckbox name="notifyCustomer" label={text('settingsMail.notifyCustomer')} />
                <FormFieldRadioButtons
                  name="period"
                  label={text('settingsMail.period')}
                  options={PERIODS.map((period) => ({ value: period, label: text(`settingsMail.periods.${period}`) }))}
                />
                <FormFieldText name="webhookUrl" label={text('settingsMail.webhookUrl')} description={text('settingsMail.webhookUrlHint')} />
                <FormFieldText name="screenUrl" label={text('settingsMail.screenUrl')} description={text('settingsMail.screenUrlHint')} />
              </Section>
              <AnomalySettingsSection values={current} setValue={(name, value) => setValues((previous) => (previous ? { ...previous, [name]: value } : previous))} />
            </Form>
          </Fragment>
        )}
      </LoadState>
      <HealthPanel />
    </div>
  );
}
