import { List, Section } from '@plesk/ui-library';
import { createElement, useCallback } from 'react';
import type { ExemptionView } from '../api/types';
import { useEnvironment } from '../app/environment';
import { formatDateTime } from '../app/locale';
import type { Target } from '../app/navigation';
import { useText } from '../app/text';
import { useResource } from '../app/use-resource';
import { exemptionWhat } from './ExemptionMark';
import { EmptyState, LoadState } from './LoadState';
import { NavLink } from './NavLink';

/** Where an exempted object leads: a subscription or domain to its screen, an email address to its domain's. */
function targetOf(exemption: Pick<ExemptionView, 'level' | 'name'>): Target {
  if (exemption.level === 'subscription') return { screen: 'subscription', name: exemption.name };
  return { screen: 'domain', name: exemption.level === 'domain' ? exemption.name : exemption.name.slice(exemption.name.lastIndexOf('@') + 1) };
}

/** The overview's list of limits raised or lifted for a while, the soonest end first, refreshed live. */
export function ExemptionsSection() {
  const { api, pollMs } = useEnvironment();
  const text = useText();
  const load = useCallback(() => api.exemptions().then((answer) => answer.items), [api]);
  const exemptions = useResource(load, 'exemptions', pollMs);
  const columns = [
    { key: 'name', title: text('list.name'), type: 'title' as const, render: (e: ExemptionView) => <NavLink to={targetOf(e)}>{e.name}</NavLink> },
    { key: 'level', title: text('overview.object'), render: (e: ExemptionView) => text(`levels.${e.level}`) },
    { key: 'exemption', title: text('exemptions.exemption'), render: (e: ExemptionView) => exemptionWhat(text, e) },
    { key: 'ends', title: text('exemptions.ends'), render: (e: ExemptionView) => formatDateTime(e.endsAt) },
    { key: 'setBy', title: text('exemptions.setBy'), render: (e: ExemptionView) => text('history.whoText', { login: e.setBy, role: text(`roles.${e.setByRole}`) }) },
  ];
  return (
    <Section title={text('exemptions.listTitle')}>
      <LoadState data={exemptions.data} error={exemptions.error} onRetry={exemptions.reload}>
        {(items) => (
          <div data-testid="exemptions">
            <List columns={columns} data={items.map((e) => ({ ...e, key: `${e.level}:${e.name}` }))} emptyView={<EmptyState>{text('exemptions.listEmpty')}</EmptyState>} />
          </div>
        )}
      </LoadState>
    </Section>
  );
}
