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
  description: 'only the hourly limit: no daily limits',
  settingsArgs: [
    '--mailbox-daily-limit', 'unlimited', '--domain-daily-limit', 'unlimited', '--subscription-daily-limit', 'unlimited',
  ],
};

export const ALL_ON: FeatureSet = {
  label: 'all on',
  description: 'daily limits at every level (2,000 / 200,000 / 1,000,000 a day)',
  settingsArgs: [
    '--mailbox-daily-limit', '2000', '--domain-daily-limit', '200000', '--subscription-daily-limit', '1000000',
  ],
};
