import { createElement, Fragment } from 'react';
import { LimitsOffBanner } from '../components/LimitsOffBanner';
import { NotFoundScreen } from '../screens/NotFoundScreen';
import { DomainScreen } from '../screens/DomainScreen';
import { HeldScreen } from '../screens/HeldScreen';
import { HistoryScreen } from '../screens/HistoryScreen';
import { OverviewScreen } from '../screens/OverviewScreen';
import { SettingsScreen } from '../screens/SettingsScreen';
import { SubscriptionScreen } from '../screens/SubscriptionScreen';
import { SubscriptionsScreen } from '../screens/SubscriptionsScreen';
import type { Target } from './navigation';

/**
 * The screen for a target under the note that limits are switched off when they are, or "not found" for an
 * address that names no screen (null).
 */
export function ScreenView({ target, onLeaveSettings }: { target: Target | null; onLeaveSettings: () => void }) {
  return (
    <Fragment>
      <LimitsOffBanner />
      {target === null ? <NotFoundScreen /> : <TargetScreen target={target} onLeaveSettings={onLeaveSettings} />}
    </Fragment>
  );
}

/** `key` makes a new name a fresh screen (no state carried over from the last one). */
function TargetScreen({ target, onLeaveSettings }: { target: Target; onLeaveSettings: () => void }) {
  switch (target.screen) {
    case 'overview':
      return <OverviewScreen />;
    case 'settings':
      return <SettingsScreen onLeave={onLeaveSettings} />;
    case 'subscriptions':
      return <SubscriptionsScreen />;
    case 'subscription':
      return <SubscriptionScreen key={target.name} name={target.name} />;
    case 'domain':
      return <DomainScreen key={target.name} name={target.name} />;
    case 'held':
      return <HeldScreen key={target.name ?? ''} {...(target.name ? { name: target.name } : {})} />;
    case 'history':
      return <HistoryScreen key={target.name ?? ''} {...(target.name ? { name: target.name } : {})} />;
  }
}
