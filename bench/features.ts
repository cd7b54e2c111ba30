// The two configurations of our daemon that the bench runs side by side with the same load: every limit and
// signal of the product switched on, and only the plain hourly limit (what the peers do). The "all on" run uses
// values the workload never reaches, so both runs answer the same and only the cost of the checks differs.

export interface FeatureSet {
  /** Appended to the server's name in the report. */
  readonly label: string;
  readonly description: string;
  /** Extra arguments of `outgoing-limits settings set`, after the hourly limits the workload relies on. */
  readonly settingsArgs: readonly string[];
}

export const ALL_OFF: FeatureSet = {
  label: 'all off',
  description: 'only the hourly limit: no daily limits, recipient caps, early warnings or anomaly signals',
  settingsArgs: [
    '--mailbox-daily-limit', 'unlimited', '--domain-daily-limit', 'unlimited', '--subscription-daily-limit', 'unlimited',
    '--mailbox-recipient-limit', 'unlimited', '--domain-recipient-limit', 'unlimited', '--subscription-recipient-limit', 'unlimited',
    '--early-warning', 'off',
    '--anomaly-logins', 'off', '--anomaly-domains', 'off', '--anomaly-surge', 'off',
  ],
};

export const ALL_ON: FeatureSet = {
  label: 'all on',
  description:
    'daily limits at every level (2,000 / 200,000 / 1,000,000 a day), recipient caps (50 / 500 / 1,000 per message), ' +
    'early warnings at 80 %, and every anomaly signal at its default (10 addresses, 100 domains, 10 × the usual hour)',
  settingsArgs: [
    '--mailbox-daily-limit', '2000', '--domain-daily-limit', '200000', '--subscription-daily-limit', '1000000',
    '--mailbox-recipient-limit', '50', '--domain-recipient-limit', '500', '--subscription-recipient-limit', '1000',
    '--early-warning', '80',
    '--anomaly-logins', '10', '--anomaly-domains', '100', '--anomaly-surge', '10',
  ],
};
