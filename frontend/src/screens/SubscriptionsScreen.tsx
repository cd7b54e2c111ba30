import { Heading } from '@plesk/ui-library';
import { createElement, Fragment } from 'react';
import { useEnvironment } from '../app/environment';
import { useText } from '../app/text';
import { ObjectList } from '../components/ObjectList';

/** The subscriptions this user may see (all for the admin, its customers' for a reseller, its own for a customer). */
export function SubscriptionsScreen() {
  const { session } = useEnvironment();
  const text = useText();
  return (
    <Fragment>
      <Heading level={1}>{text('subscriptions.title')}</Heading>
      <ObjectList level="subscription" canEdit={session.role !== 'customer'} linkTo={(row) => ({ screen: 'subscription', name: row.name })} />
    </Fragment>
  );
}
