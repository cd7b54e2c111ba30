import { Alert, Form, FormFieldPassword, FormFieldText, Heading } from '@plesk/ui-library';
import { createElement, useState } from 'react';
import { ApiFailure, type ApiClient } from '../api/client';
import type { SessionInfo } from '../api/types';
import { useText } from '../app/text';

/** The standalone login (inside Plesk, Plesk itself logs people in). */
export function LoginScreen({ api, onLoggedIn }: { api: ApiClient; onLoggedIn: (session: SessionInfo) => void }) {
  const text = useText();
  const [values, setValues] = useState({ login: '', password: '' });
  const [errors, setErrors] = useState<Record<string, { api: string }>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    setBusy(true);
    setErrors({});
    setFailure(null);
    try {
      onLoggedIn(await api.login(values.login, values.password));
    } catch (error) {
      const apiFailure = error instanceof ApiFailure ? error : new ApiFailure(String(error), null);
      const fields = Object.fromEntries(Object.entries(apiFailure.fields).map(([name, message]) => [name, { api: message }]));
      setErrors(fields);
      if (Object.keys(fields).length === 0) setFailure(text('login.failed', { reason: apiFailure.message }));
      setBusy(false);
    }
  };

  return (
    <div style={{ maxWidth: 480, margin: '64px auto', padding: 24 }}>
      <Heading level={1}>{text('login.title')}</Heading>
      {failure ? (
        <Alert intent="danger">
          {failure}
        </Alert>
      ) : null}
      <Form
        values={values}
        errors={errors}
        vertical
        state={busy ? 'submit' : undefined}
        onFieldChange={(name, value) => setValues((current) => ({ ...current, [name]: String(value) }))}
        onSubmit={() => void submit()}
        submitButton={{ children: text('login.submit') }}
        applyButton={false}
        cancelButton={false}
      >
        <FormFieldText name="login" label={text('login.login')} autoComplete="username" size="fill" />
        <FormFieldPassword name="password" label={text('login.password')} hideGenerateButton hideCopyButton hidePasswordMeter size="fill" />
      </Form>
    </div>
  );
}
