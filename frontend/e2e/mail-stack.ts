import { test } from '@playwright/test';
import { cli, type DaemonProcess } from '../../backend-bridge/test-support/daemon-process.js';
import { exampleDirectory } from '../../backend-bridge/test-support/directory-fixture.js';
import { PostfixInstance } from '../../backend-bridge/test-support/postfix-instance.js';
import { Pages } from './pages.js';
import { addUser, prepareDataDir, startStandaloneDaemon, type Login } from './standalone-daemon.js';

type Role = 'admin' | 'reseller' | 'customer';

export interface MailStackOptions<U extends string> {
  /** `settings set` arguments of the store before the daemon starts. */
  settings: string[];
  /** Wire the milter for local mail too (default: the policy service only). */
  milter?: boolean;
  /** Logins of the web interface: role, and the subscriptions of a reseller or customer. */
  users: Record<U, [Role] | [Role, string[]]>;
  /** More set-up of the store before the daemon starts (limits, marks). */
  prepare?: (dataDir: string) => Promise<void>;
}

/**
 * One spec's mail server: a throwaway Postfix wired to a standalone daemon whose store holds the example
 * directory (see backend-bridge/test-support/directory-fixture.ts), started before the spec's tests and stopped
 * after them; browser contexts are closed after each test. Hooks a spec registers after this one run after it,
 * so they find everything started.
 */
export class MailStack<U extends string> {
  postfix!: PostfixInstance;
  daemon!: DaemonProcess;
  baseUrl = '';
  readonly users = {} as Record<U, Login>;
  readonly pages = new Pages(() => this.baseUrl);

  static forSpec<U extends string>(options: MailStackOptions<U>): MailStack<U> {
    const stack = new MailStack<U>();
    test.beforeAll(() => stack.start(options));
    test.afterEach(() => stack.pages.closeAll());
    test.afterAll(() => stack.stop());
    return stack;
  }

  get dataDir(): string {
    return this.daemon.dataDir;
  }

  private async start(options: MailStackOptions<U>): Promise<void> {
    this.postfix = await PostfixInstance.start();
    await cli(['postfix', 'wire', '--config-dir', this.postfix.configDir, ...(options.milter ? [] : ['--no-milter'])]);
    await this.postfix.reload();
    const dataDir = await prepareDataDir(exampleDirectory(), options.settings);
    await options.prepare?.(dataDir);
    for (const [login, [role, subscriptions]] of Object.entries(options.users) as Array<[U, [Role] | [Role, string[]]]>) {
      this.users[login] = await addUser(dataDir, login, role, subscriptions);
    }
    ({ daemon: this.daemon, baseUrl: this.baseUrl } = await startStandaloneDaemon(dataDir, ['--postfix-config-dir', this.postfix.configDir]));
  }

  private async stop(): Promise<void> {
    await this.daemon?.stop();
    await this.postfix?.stop();
  }
}
