import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Background work (the cluster's statistics exchange) shares the event loop with the policy service and the
 * milter: a long synchronous stretch of SQLite writes is a stretch in which no mail is answered. Work done in
 * steps calls `pause()` between steps; once a turn has run `turnMs`, the rest waits for the next turn, after the
 * requests that came in meanwhile.
 */
export class TurnBudget {
  private turnStartedAt = performance.now();

  constructor(private readonly turnMs: number) {}

  async pause(): Promise<void> {
    if (performance.now() - this.turnStartedAt < this.turnMs) return;
    await nextTurn();
    this.turnStartedAt = performance.now();
  }
}
