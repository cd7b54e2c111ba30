import { Heading, Paragraph } from '@plesk/ui-library';
import { createElement, Fragment } from 'react';
import { useEnvironment } from '../app/environment';
import { useText } from '../app/text';
import { LoadState } from '../components/LoadState';
import { NavLink } from '../components/NavLink';
import { ObjectList } from '../components/ObjectList';
import { ObjectSummary, useObject } from '../components/ObjectSummary';
import { PeriodChart } from '../components/PeriodChart';

/**
 * "Outgoing Mail Limits" of a subscription: its own limit (read-only for customers) and its domains with
 * effective limits and live usage; select several → "Limit Outgoing Messages" for all of them.
 */
export function SubscriptionScreen({ name }: { name: string }) {
  const { session } = useEnvironment();
  const text = useText();
  const subscription = useObject('subscription', name);
  const isCustomer = session.role === 'customer';
  return (
    <Fragment>
      <Heading level={1}>{text('subscription.title', { name })}</Heading>
      <LoadState data={subscription.data} error={subscription.error} onRetry={subscription.reload}>
        {(object) => (
          <Fragment>
            <ObjectSummary
              level="subscription"
              title={text('subscription.own')}
              object={object}
              readOnlyReason={isCustomer ? text('subscription.readOnly') : null}
              onSaved={subscription.reload}
            />
            <Paragraph>
              <NavLink to={{ screen: 'held', name: object.name }}>{text('held.linkOf', { name: object.name })}</NavLink>
            </Paragraph>
            <PeriodChart object={{ level: 'subscription', name: object.name }} objectLabel={`${text('levels.subscription')} ${object.name}`} />
            <Heading level={2}>{text('subscription.domains')}</Heading>
            <ObjectList level="domain" filter={{ subscription: object.name }} canEdit linkTo={(row) => ({ screen: 'domain', name: row.name })} onChanged={subscription.reload} />
          </Fragment>
        )}
      </LoadState>
    </Fragment>
  );
}
