import { Heading, Paragraph } from '@plesk/ui-library';
import { createElement, Fragment } from 'react';
import { useText } from '../app/text';
import { LoadState } from '../components/LoadState';
import { NavLink } from '../components/NavLink';
import { ObjectList } from '../components/ObjectList';
import { ObjectSummary, useObject } from '../components/ObjectSummary';
import { PeriodChart } from '../components/PeriodChart';

/** Email addresses of a domain: usage ("37 of 100 this hour, frees in 14 min"), Sending / Not sending, limits. */
export function DomainScreen({ name }: { name: string }) {
  const text = useText();
  const domain = useObject('domain', name);
  return (
    <Fragment>
      <Heading level={1}>{text('domain.title', { name })}</Heading>
      <LoadState data={domain.data} error={domain.error} onRetry={domain.reload}>
        {(object) => (
          <Fragment>
            <Paragraph>
              <NavLink to={{ screen: 'subscription', name: object.subscription }}>{text('domain.subscriptionLink', { name: object.subscription })}</NavLink>
              {' · '}
              <NavLink to={{ screen: 'held', name: object.name }}>{text('held.linkOf', { name: object.name })}</NavLink>
            </Paragraph>
            <ObjectSummary level="domain" title={text('domain.own')} object={object} readOnlyReason={null} onSaved={domain.reload} />
            <PeriodChart object={{ level: 'domain', name: object.name }} objectLabel={`${text('levels.domain')} ${object.name}`} />
            <Heading level={2}>{text('domain.mailboxes')}</Heading>
            <ObjectList
              level="mailbox"
              filter={{ domain: object.name }}
              canEdit
              onChanged={domain.reload}
              rowActions={(row) => (
                <NavLink to={{ screen: 'held', name: row.name }} label={text('held.linkOf', { name: row.name })}>
                  {text('held.link')}
                </NavLink>
              )}
            />
          </Fragment>
        )}
      </LoadState>
    </Fragment>
  );
}
