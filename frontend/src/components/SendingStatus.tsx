import { Status } from '@plesk/ui-library';
import { createElement } from 'react';
import { useText } from '../app/text';

export function SendingStatus({ blocked }: { blocked: boolean }) {
  const text = useText();
  return <Status intent={blocked ? 'danger' : 'success'}>{text(blocked ? 'limit.notSending' : 'limit.sending')}</Status>;
}
