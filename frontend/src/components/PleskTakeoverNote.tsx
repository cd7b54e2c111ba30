import { Alert, Heading } from '@plesk/ui-library';
import { createElement } from 'react';
import { useEnvironment } from '../app/environment';
import { useText } from '../app/text';

/**
 * At the top of the settings screen inside Plesk: this extension enforces the limits now, and where Plesk's own
 * limit fields went, so an admin who knew Plesk's "Limitations on outgoing email messages" finds their values.
 * Not shown in the standalone app, which has no Plesk fields to explain.
 */
export function PleskTakeoverNote() {
  const { session } = useEnvironment();
  const text = useText();
  if (session.via !== 'plesk') return null;
  return (
    <Alert intent="info" data-testid="plesk-takeover-note">
      <Heading level={3}>{text('pleskTakeover.title')}</Heading>
      <ul>
        <li>{text('pleskTakeover.pleskOff')}</li>
        <li>{text('pleskTakeover.imported')}</li>
        <li>{text('pleskTakeover.plans')}</li>
        <li>{text('pleskTakeover.whereChanged')}</li>
      </ul>
    </Alert>
  );
}
