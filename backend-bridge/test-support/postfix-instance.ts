/**
 * A throwaway, loopback-only Postfix for integration tests and demos.
 *
 * Everything lives under one directory (a fresh temp dir unless `baseDir` is given):
 *   etc/            config_directory: main.cf and master.cf written from scratch, sasl/ (smtpd.conf, sasldb2)
 *   queue/, data/   queue_directory and data_directory (Postfix's post-install creates them with the right owners)
 *   sink/           one file per message the smtp-sink received (relayhost = [127.0.0.1]:sinkPort)
 *   maillog         maillog_file, written by the postlog service (there is no syslog on these machines)
 *
 * Facts measured on Debian 12 / Postfix 3.7.11:
 * - `postfix -c DIR start` as root needs nothing in /etc/postfix/main.cf: the alternate_config_directories /
 *   multi_instance_directories check in mail_conf_suck() only applies when euid != 0. Setgid tools run by a
 *   non-root user (postqueue, sendmail -C) fail with "unauthorized configuration directory name" unless the
 *   default main.cf lists DIR; we never edit that file, so every command here runs as root.
 * - Debian's smtpd ignores cyrus_sasl_config_path (strace: Cyrus only tries $config_directory/sasl/smtpd.conf,
 *   then /usr/lib/sasl/smtpd.conf; Debian patches this part): smtpd.conf therefore lives in etc/sasl/, and
 *   cyrus_sasl_config_path points there too so an upstream build finds the same file.
 * - The data_directory must not exist before the first start (or must belong to postfix): master cannot create
 *   its lock file in a root-owned data directory.
 * - Every Postfix program (postfix, postconf, master on reload, each new daemon) re-reads main.cf until its mtime
 *   is more than ~1 s in the past ("pausing to let main.cf cool down", dict_load_file_xt, 300 ms naps): right
 *   after a write each command costs up to 2 s. This helper backdates main.cf once a writer is done (before start,
 *   reload and after postconf edits); the file is complete by then, which is all the pause protects.
 * - With a cool main.cf: first start ~0.3 s (post-install creates the queue dirs), stop ~0.05 s (up to 1 s when
 *   postfix-script's stop loop has to sleep once), reload ~0.05 s and idle smtpd processes exit within ~0.1 s.
 * - Neither master.cf nor smtp-sink can bind port 0 and report the port, so this helper picks free ports and
 *   hands them on; another program may take one first. master then fails to start ("fatal: bind 127.0.0.1 port N:
 *   Address already in use", `postfix start` exits 1 after ~2 s) and smtp-sink exits with the same words; the
 *   helper moves that listener to a new port and tries again (loopback-listeners.ts). smtp-sink counts as up only
 *   once the listening socket is its own: a connect() alone would also succeed to whoever took the port.
 * - PID 1 here does not reap orphans: master and its children stay as zombies after stop. Zombies are not
 *   running, so process checks skip them (their /proc environ is empty anyway).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADDRESS_IN_USE, launchOnFreePort, loopbackListenerOwner, PortTakenError, type ListenerOwner } from './loopback-listeners.js';

export interface SaslUser {
  /** e.g. `alice@example.com`; Postfix reports it to policy services as `sasl_username=alice@example.com`. */
  login: string;
  password: string;
}

export interface PostfixInstanceOptions {
  /** Root of all files. Default: a fresh dir under os.tmpdir(). Removed on stop only if this helper created it. */
  baseDir?: string;
  /**
   * Loopback port of the smtpd listener. Default: a port the kernel reports free; if another program takes it
   * before master binds it, the instance moves to another one (see pickPort). A port given here is used or fails.
   */
  smtpPort?: number;
  /** Loopback port of the smtp-sink that receives all relayed mail. Default and races: as for smtpPort. */
  sinkPort?: number;
  /**
   * Where the automatic ports come from (default: freeLoopbackPort). Called for the first port of each service and
   * again after each port lost to another program; tests use it to hand out a port they hold.
   */
  pickPort?: (service: PortService) => Promise<number>;
  /** Turns on SASL AUTH (PLAIN, LOGIN, without TLS) backed by a sasldb in the instance. */
  saslUsers?: SaslUser[];
  /** Keep the files after stop() (for post-mortems and demos). */
  keep?: boolean;
  /** myhostname of the instance. Default `postfix-test.localdomain`. */
  hostname?: string;
  /** Extra main.cf parameters, written after (and so overriding) the defaults. */
  mainCf?: Record<string, string>;
  /**
   * Run smtpd and cleanup chrooted in the queue directory, as Debian's master.cf does (default: not chrooted).
   * Not with saslUsers: the sasldb is outside the chroot.
   */
  chroot?: boolean;
}

/** The two listeners of an instance whose ports a helper chooses: smtpd (master.cf) and the smtp-sink (relayhost). */
export type PortService = 'smtpd' | 'sink';

export interface SendMailOptions {
  from: string;
  to: string[];
  auth?: { login: string; password: string; mechanism?: 'PLAIN' | 'LOGIN' };
  subject?: string;
  body?: string;
  /** Extra headers, e.g. `{ 'X-Test': '1' }`. */
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Connect from this loopback address (any of 127.0.0.0/8), which smtpd reports as client_address. */
  localAddress?: string;
}

export interface SmtpResult {
  /** Reply code to the end of DATA, or to the command that ended the session early (e.g. 535 to AUTH). */
  code: number;
  /** Enhanced status code such as `2.0.0` or `4.7.1`, if the reply has one. */
  enhanced: string | null;
  /** Reply text without code and enhanced code; lines of a multi-line reply joined by `\n`. */
  text: string;
  /** True only if the end of DATA got a 2xx reply. */
  accepted: boolean;
  /** The command that got this reply: `END-OF-DATA`, `AUTH`, `RCPT`, `MAIL`, `DATA`, `EHLO`, `CONNECT`. */
  stage: string;
  /** From `250 2.0.0 Ok: queued as ID`. */
  queueId: string | null;
  /** swaks' whole output (stdout and stderr). */
  transcript: string;
  swaksExitCode: number | null;
}

export interface DeliveredMessage {
  path: string;
  /** smtp-sink's id (the file name). */
  id: string;
  mtimeMs: number;
  clientAddr: string | null;
  /** Envelope sender as Postfix relayed it (without <>). */
  mailFrom: string | null;
  /** Envelope recipients (without <>). */
  recipients: string[];
  /** Unfolded headers (including smtp-sink's X-Client-Addr, X-Mail-Args, ...), names in lower case. */
  headers: Array<{ name: string; value: string }>;
  subject: string | null;
  body: string;
  raw: string;
}

/** One line of `postqueue -j`. */
export interface QueueEntry {
  queue_name: string;
  queue_id: string;
  arrival_time?: number;
  message_size?: number;
  forced_expire?: boolean;
  sender: string;
  recipients: Array<{ address: string; orig_address?: string; delay_reason?: string }>;
}

export interface InstanceProcess {
  pid: number;
  command: string;
}

export class PostfixInstanceError extends Error {
  override name = 'PostfixInstanceError';
}

interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const POSTFIX = '/usr/sbin/postfix';
const POSTCONF = '/usr/sbin/postconf';
const POSTQUEUE = '/usr/sbin/postqueue';
const SENDMAIL = '/usr/sbin/sendmail';
const SMTP_SINK = '/usr/sbin/smtp-sink';
const SASLPASSWD2 = '/usr/sbin/saslpasswd2';
const SWAKS = '/usr/bin/swaks';

/** A clean environment: an inherited MAIL_CONFIG must never point a command at another instance. */
const COMMAND_ENV: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C' };

/** Instances not yet stopped, killed on process exit so a crashed suite leaves no master behind. */
const liveInstances = new Set<PostfixInstance>();
/** Ports handed to instances of this process, so parallel starts do not pick the same one. */
const reservedPorts = new Set<number>();
let exitHookInstalled = false;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PostfixInstance {
  readonly baseDir: string;
  readonly configDir: string;
  readonly mainCfPath: string;
  readonly masterCfPath: string;
  readonly queueDir: string;
  readonly dataDir: string;
  readonly sinkDir: string;
  readonly logPath: string;
  readonly saslDir: string;
  readonly hostname: string;
  smtpPort: number;
  sinkPort: number;

  private readonly options: PostfixInstanceOptions;
  private readonly ownsBaseDir: boolean;
  private readonly autoSmtpPort: boolean;
  private readonly autoSinkPort: boolean;
  private sink: ChildProcess | null = null;
  private sinkOutput = '';
  private stopping: Promise<void> | null = null;
  private removed = false;

  private constructor(baseDir: string, ownsBaseDir: boolean, options: PostfixInstanceOptions, smtpPort: number, sinkPort: number) {
    this.options = options;
    this.baseDir = baseDir;
    this.ownsBaseDir = ownsBaseDir;
    this.configDir = path.join(baseDir, 'etc');
    this.mainCfPath = path.join(this.configDir, 'main.cf');
    this.masterCfPath = path.join(this.configDir, 'master.cf');
    this.saslDir = path.join(this.configDir, 'sasl');
    this.queueDir = path.join(baseDir, 'queue');
    this.dataDir = path.join(baseDir, 'data');
    this.sinkDir = path.join(baseDir, 'sink');
    this.logPath = path.join(baseDir, 'maillog');
    this.hostname = options.hostname ?? 'postfix-test.localdomain';
    this.smtpPort = smtpPort;
    this.sinkPort = sinkPort;
    this.autoSmtpPort = options.smtpPort === undefined;
    this.autoSinkPort = options.sinkPort === undefined;
  }

  /** Creates the files, starts the sink and `postfix -c DIR start`. On failure everything started is stopped again. */
  static async start(options: PostfixInstanceOptions = {}): Promise<PostfixInstance> {
    if (process.getuid?.() !== 0) {
      throw new PostfixInstanceError('PostfixInstance needs root: the Postfix master and smtp-sink -u run as root.');
    }
    let baseDir: string;
    let owns: boolean;
    if (options.baseDir) {
      owns = !existsSync(options.baseDir);
      baseDir = path.resolve(options.baseDir);
      await mkdir(baseDir, { recursive: true });
    } else {
      baseDir = await mkdtemp(path.join(tmpdir(), 'postfix-test-'));
      owns = true;
    }
    // mkdtemp makes 0700; smtpd (user postfix) opens the sasldb and smtp-sink (nobody) writes by absolute path.
    await chmod(baseDir, 0o755);
    const pickPort = options.pickPort ?? freeLoopbackPort;
    const smtpPort = options.smtpPort ?? (await pickPort('smtpd'));
    const sinkPort = options.sinkPort ?? (await pickPort('sink'));
    const instance = new PostfixInstance(baseDir, owns, options, smtpPort, sinkPort);
    try {
      if (!owns) await instance.stopLeftovers();
      await instance.writeFiles();
      await instance.start();
    } catch (error) {
      await instance.stop().catch(() => undefined);
      throw error;
    }
    return instance;
  }

  /**
   * A run that died without stop() (a killed test process) leaves master and smtp-sink running in its baseDir, on
   * that run's ports. start() would take that master for this instance's and talk to ports where nothing
   * listens: stop them first. The sink is found by its capture directory on its command line.
   */
  private async stopLeftovers(): Promise<void> {
    if ((await this.masterPid()) !== null) {
      await this.coolMainCf();
      await run(POSTFIX, ['-c', this.configDir, 'stop'], { timeoutMs: 15_000 });
    }
    const sinkMarker = ['-d', `${this.sinkDir}/`].join('\0');
    const leftovers = [...(await this.processes())];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === this.sink?.pid) continue;
      try {
        const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
        if (cmdline.startsWith(`${SMTP_SINK}\0`) && cmdline.includes(sinkMarker)) leftovers.push({ pid: Number(entry), command: cmdline });
      } catch {
        // gone
      }
    }
    for (const p of leftovers) killQuietly(p.pid, 'SIGKILL');
    await pollUntil(5_000, async () => (await Promise.all(leftovers.map((p) => isRunningPid(p.pid)))).every((running) => !running));
  }

  /** Starts a stopped instance again (restart). Files still present are reused, so main.cf edits survive. */
  async start(): Promise<void> {
    // A failed stop already reported its error; starting again is still allowed.
    if (this.stopping) await this.stopping.catch(() => undefined);
    this.stopping = null;
    if (this.removed || !existsSync(this.mainCfPath)) {
      await mkdir(this.baseDir, { recursive: true, mode: 0o755 });
      await this.writeFiles();
      this.removed = false;
    }
    installExitHook();
    liveInstances.add(this);
    reservedPorts.add(this.smtpPort);
    reservedPorts.add(this.sinkPort);
    if (!this.sink) {
      await this.onFreePort('smtp-sink', 'sink', this.autoSinkPort, async (port) => {
        if (port !== this.sinkPort) await this.moveSink(port);
        await this.startSink();
      });
    }
    if ((await this.masterPid()) !== null) return;
    await this.onFreePort('smtpd', 'smtpd', this.autoSmtpPort, async (port) => {
      if (port !== this.smtpPort) await this.moveSmtpd(port);
      await this.startMaster();
    });
  }

  /**
   * Ports are chosen before the program that binds them runs (neither master.cf nor smtp-sink can bind port 0
   * and say what they got), so another program may take one first: `launch` then throws PortTakenError and runs
   * again on a new port, a bounded number of times. A port given in the options is never changed.
   */
  private async onFreePort(what: string, service: PortService, auto: boolean, launch: (port: number) => Promise<void>): Promise<void> {
    const pickPort = this.options.pickPort ?? freeLoopbackPort;
    const current = service === 'smtpd' ? this.smtpPort : this.sinkPort;
    try {
      await launchOnFreePort(what, current, auto ? () => pickPort(service) : null, launch);
    } catch (error) {
      if (error instanceof PostfixInstanceError) throw error;
      const log = await this.logTail(40);
      throw new PostfixInstanceError((error as Error).message + (log ? `\n--- mail log ---\n${log}` : ''));
    }
  }

  /** `postfix start`; PortTakenError if master lost the smtpd port ("fatal: bind 127.0.0.1 port N: Address already in use"). */
  private async startMaster(): Promise<void> {
    await this.coolMainCf();
    const logBefore = (await this.logText()).length;
    const result = await run(POSTFIX, ['-c', this.configDir, 'start'], { timeoutMs: 30_000 });
    // Only this attempt's lines: an earlier attempt's bind failure must not explain a later, different one.
    const attemptLog = (await this.logText()).slice(logBefore);
    if (result.exitCode !== 0) {
      const bindFailure = `${attemptLog}\n${result.stderr}`.split('\n').find((line) => ADDRESS_IN_USE.test(line));
      if (bindFailure !== undefined) throw new PortTakenError(bindFailure.replace(/^.*?postfix\/master\[\d+\]: /, 'master: '));
      throw new PostfixInstanceError(describeFailure(`postfix -c ${this.configDir} start`, result, await this.logTail(40)));
    }
    // master keeps every inet listener open itself (it hands them to smtpd): the port must be one of master's.
    const master = await this.masterPid();
    if ((await loopbackListenerOwner(this.smtpPort, master === null ? [] : [master])) !== 'ours') {
      throw new PostfixInstanceError(`postfix started, but 127.0.0.1:${this.smtpPort} is not master's listener\n--- mail log ---\n${await this.logTail(40)}`);
    }
  }

  /** Points the smtpd listener of master.cf at another port (only that service name changes in the file). */
  private async moveSmtpd(port: number): Promise<void> {
    const listener = new RegExp(`^127\\.0\\.0\\.1:${this.smtpPort}(?=\\s)`, 'm');
    const text = await readFile(this.masterCfPath, 'utf8');
    if (!listener.test(text)) throw new PostfixInstanceError(`${this.masterCfPath} has no smtpd listener 127.0.0.1:${this.smtpPort} to move`);
    await writeFile(this.masterCfPath, text.replace(listener, `127.0.0.1:${port}`));
    reservedPorts.delete(this.smtpPort);
    this.smtpPort = port;
    reservedPorts.add(port);
  }

  /** Points relayhost in main.cf at the sink's new port. */
  private async moveSink(port: number): Promise<void> {
    const relayhost = new RegExp(`^relayhost = \\[127\\.0\\.0\\.1\\]:${this.sinkPort}$`, 'm');
    const text = await readFile(this.mainCfPath, 'utf8');
    if (!relayhost.test(text)) throw new PostfixInstanceError(`${this.mainCfPath} has no relayhost [127.0.0.1]:${this.sinkPort} to move`);
    await writeFile(this.mainCfPath, text.replace(relayhost, `relayhost = [127.0.0.1]:${port}`));
    reservedPorts.delete(this.sinkPort);
    this.sinkPort = port;
    reservedPorts.add(port);
  }

  /** Stop, then start again with the same files (main.cf edits, queue and sink contents survive). */
  async restart(): Promise<void> {
    await this.stop({ keepFiles: true });
    await this.start();
  }

  /**
   * Stops Postfix and the sink and removes the files (unless `keep` / `keepFiles`). Idempotent; concurrent calls
   * share one stop. Throws (after doing all it can) if a process of this instance would not die.
   */
  stop(opts: { keepFiles?: boolean } = {}): Promise<void> {
    this.stopping ??= this.doStop(opts.keepFiles ?? false);
    return this.stopping;
  }

  private async doStop(keepFiles: boolean): Promise<void> {
    const problems: string[] = [];
    if ((await this.masterPid()) !== null) {
      await this.coolMainCf();
      const stopped = await run(POSTFIX, ['-c', this.configDir, 'stop'], { timeoutMs: 15_000 });
      if (stopped.exitCode !== 0) {
        problems.push(describeFailure(`postfix -c ${this.configDir} stop`, stopped, ''));
        await run(POSTFIX, ['-c', this.configDir, 'abort'], { timeoutMs: 10_000 });
      }
    }
    // master SIGTERMs its process group; wait for the children too, then kill what is left (ours, by pid).
    let left = await this.waitForNoProcesses(5_000);
    if (left.length > 0) {
      for (const p of left) killQuietly(p.pid, 'SIGKILL');
      left = await this.waitForNoProcesses(2_000);
      if (left.length > 0) problems.push(`processes still running: ${left.map((p) => `${p.pid} ${p.command}`).join(', ')}`);
    }
    await this.stopSink();
    liveInstances.delete(this);
    reservedPorts.delete(this.smtpPort);
    reservedPorts.delete(this.sinkPort);
    const log = problems.length > 0 ? await this.logTail(60) : '';
    if (!keepFiles && !this.options.keep && !this.removed) {
      if (this.ownsBaseDir) {
        await rm(this.baseDir, { recursive: true, force: true });
      } else {
        for (const entry of ['etc', 'queue', 'data', 'sink', 'maillog']) {
          await rm(path.join(this.baseDir, entry), { recursive: true, force: true });
        }
      }
      this.removed = true;
    }
    if (problems.length > 0) {
      throw new PostfixInstanceError(`stopping Postfix in ${this.baseDir} failed:\n${problems.join('\n')}\n--- mail log ---\n${log}`);
    }
  }

  /** `postfix -c DIR reload`, and waits until master logged the reload and old idle smtpd processes are gone. */
  async reload(): Promise<void> {
    const reloadLine = /postfix\/master\[\d+\]: reload -- /g;
    const before = (await this.logText()).match(reloadLine)?.length ?? 0;
    const oldSmtpd = (await this.processes()).filter((p) => p.command.startsWith('smtpd')).map((p) => p.pid);
    // Whoever edited main.cf (postconf, the product's wiring) is done: spare master and every new daemon the pause.
    await this.coolMainCf();
    const result = await run(POSTFIX, ['-c', this.configDir, 'reload'], { timeoutMs: 15_000 });
    if (result.exitCode !== 0) {
      throw new PostfixInstanceError(describeFailure(`postfix -c ${this.configDir} reload`, result, await this.logTail(40)));
    }
    const reloaded = await pollUntil(5_000, async () => ((await this.logText()).match(reloadLine)?.length ?? 0) > before);
    if (!reloaded) {
      throw new PostfixInstanceError(`postfix reload: master never logged the reload\n--- mail log ---\n${await this.logTail(40)}`);
    }
    // An old smtpd could still accept one more connection with the old settings; they exit within ~0.1 s.
    await pollUntil(3_000, async () => {
      const running = new Set((await this.processes()).map((p) => p.pid));
      return oldSmtpd.every((pid) => !running.has(pid));
    });
  }

  /** Runs `postconf -c DIR ...args` and returns its stdout (e.g. `postconf(['-h', 'relayhost'])`). */
  async postconf(args: string[]): Promise<string> {
    await this.coolMainCf();
    const result = await run(POSTCONF, ['-c', this.configDir, ...args], { timeoutMs: 15_000 });
    if (result.exitCode !== 0) {
      throw new PostfixInstanceError(describeFailure(`postconf -c ${this.configDir} ${args.join(' ')}`, result, ''));
    }
    // postconf -e/-X/-# rewrites main.cf: cool it now so the next command does not nap.
    await this.coolMainCf();
    return result.stdout;
  }

  /** Adds (or changes) a SASL user; smtpd reads the sasldb at every AUTH, so no reload is needed. */
  async addSaslUser(user: SaslUser): Promise<void> {
    if (this.options.saslUsers === undefined) {
      throw new PostfixInstanceError('SASL is off for this instance: pass saslUsers (may be []) to PostfixInstance.start().');
    }
    const db = path.join(this.saslDir, 'sasldb2');
    const at = user.login.lastIndexOf('@');
    // Cyrus splits user@realm at the last '@'; a login without one gets the server's realm (myhostname).
    const [name, realm] = at > 0 ? [user.login.slice(0, at), user.login.slice(at + 1)] : [user.login, this.hostname];
    const result = await run(SASLPASSWD2, ['-f', db, '-p', '-c', '-u', realm, name], { input: user.password, timeoutMs: 15_000 });
    if (result.exitCode !== 0) {
      throw new PostfixInstanceError(describeFailure(`saslpasswd2 -f ${db} -c -u ${realm} ${name}`, result, ''));
    }
    // smtpd opens the sasldb as user postfix, after dropping root.
    const { gid } = await postfixIds();
    await chown(db, 0, gid);
    await chmod(db, 0o640);
  }

  /**
   * Sends one message with swaks to the smtpd listener. A 4xx/5xx is a result, not an exception; this throws
   * only if no SMTP reply came at all (no connection, swaks missing).
   */
  async sendMail(mail: SendMailOptions): Promise<SmtpResult> {
    if (mail.to.length === 0) throw new PostfixInstanceError('sendMail needs at least one recipient');
    const args = [
      '--server', '127.0.0.1', '--port', String(this.smtpPort),
      '--helo', 'swaks.localhost',
      '--from', mail.from,
      '--to', mail.to.join(','),
      '--header', `Subject: ${mail.subject ?? 'test message'}`,
      // The body goes through stdin: swaks treats a --body argument that names a file as that file.
      '--body', '-',
      '--timeout', '30',
    ];
    for (const [name, value] of Object.entries(mail.headers ?? {})) args.push('--add-header', `${name}: ${value}`);
    if (mail.localAddress) args.push('--local-interface', mail.localAddress);
    if (mail.auth) {
      args.push('--auth', mail.auth.mechanism ?? 'PLAIN', '--auth-user', mail.auth.login, '--auth-password', mail.auth.password);
    }
    const result = await run(SWAKS, args, { input: mail.body ?? 'This is a test message.\n', timeoutMs: mail.timeoutMs ?? 60_000 });
    const transcript = result.stdout + (result.stderr ? `\n${result.stderr}` : '');
    const parsed = parseSwaksTranscript(result.stdout, result.stderr);
    if (!parsed) {
      throw new PostfixInstanceError(
        `swaks got no SMTP reply from 127.0.0.1:${this.smtpPort} (exit ${String(result.exitCode)})\n${transcript}\n--- mail log ---\n${await this.logTail(40)}`,
      );
    }
    return { ...parsed, transcript, swaksExitCode: result.exitCode };
  }

  /**
   * Local submission through `sendmail -C DIR` (postdrop → pickup), the path PHP mail() takes. Runs as root:
   * a non-root user would need DIR in /etc/postfix/main.cf's alternate_config_directories.
   */
  async sendLocalMail(mail: { from: string; to: string[]; subject?: string; body?: string }): Promise<void> {
    const message = `From: ${mail.from}\nTo: ${mail.to.join(', ')}\nSubject: ${mail.subject ?? 'test message'}\n\n${mail.body ?? 'This is a test message.\n'}`;
    await this.coolMainCf();
    const result = await run(SENDMAIL, ['-C', this.configDir, '-f', mail.from, '-i', '--', ...mail.to], { input: message, timeoutMs: 30_000 });
    if (result.exitCode !== 0) {
      throw new PostfixInstanceError(describeFailure(`sendmail -C ${this.configDir}`, result, await this.logTail(40)));
    }
  }

  /** Messages the sink has completely received, oldest first. */
  async deliveredMessages(): Promise<DeliveredMessage[]> {
    let names: string[];
    try {
      names = await readdir(this.sinkDir);
    } catch {
      return [];
    }
    // smtp-sink opens its capture file at MAIL FROM and closes it at the final dot: a file it still holds open is
    // a transaction in progress.
    const open = await this.sinkOpenFiles();
    const messages: DeliveredMessage[] = [];
    for (const name of names) {
      const file = path.join(this.sinkDir, name);
      if (open.has(file)) continue;
      try {
        const info = await stat(file);
        if (!info.isFile()) continue;
        messages.push(parseSinkFile(file, name, info.mtimeMs, await readFile(file, 'utf8')));
      } catch {
        // Removed by smtp-sink (aborted transaction) between readdir and read.
      }
    }
    return messages.sort((a, b) => a.mtimeMs - b.mtimeMs || a.id.localeCompare(b.id));
  }

  /** Polls until the sink holds at least `count` messages; flushes the queue now and then for deferred mail. */
  async waitForDelivered(count: number, timeoutMs = 10_000): Promise<DeliveredMessage[]> {
    const deadline = Date.now() + timeoutMs;
    let nextFlush = Date.now() + 1_000;
    for (;;) {
      const messages = await this.deliveredMessages();
      if (messages.length >= count) return messages;
      if (Date.now() >= deadline) {
        const queue = await this.queue().catch((error: unknown) => String(error));
        throw new PostfixInstanceError(
          `waited ${timeoutMs} ms for ${count} delivered message(s), the sink holds ${messages.length}\n` +
            `--- queue ---\n${JSON.stringify(queue, null, 2)}\n--- mail log ---\n${await this.logTail(60)}` +
            (this.sinkOutput ? `\n--- smtp-sink ---\n${this.sinkOutput}` : ''),
        );
      }
      if (Date.now() >= nextFlush) {
        await this.coolMainCf();
        await run(POSTQUEUE, ['-c', this.configDir, '-f'], { timeoutMs: 10_000 });
        nextFlush = Date.now() + 1_000;
      }
      await sleep(50);
    }
  }

  /** `postqueue -c DIR -j`, parsed (queue_name is active, deferred, hold, incoming or maildrop). */
  async queue(): Promise<QueueEntry[]> {
    await this.coolMainCf();
    const result = await run(POSTQUEUE, ['-c', this.configDir, '-j'], { timeoutMs: 15_000 });
    if (result.exitCode !== 0) {
      throw new PostfixInstanceError(describeFailure(`postqueue -c ${this.configDir} -j`, result, await this.logTail(40)));
    }
    return result.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as QueueEntry);
  }

  /** The last `maxLines` lines of the instance's mail log ('' if there is none yet). */
  async logTail(maxLines = 200): Promise<string> {
    const lines = (await this.logText()).split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-maxLines).join('\n');
  }

  /** Waits until the mail log matches (postlogd writes asynchronously). Returns the matching line. */
  async waitForLog(pattern: RegExp, timeoutMs = 5_000): Promise<string> {
    const flags = pattern.flags.replace('g', '');
    const re = new RegExp(pattern.source, flags.includes('m') ? flags : `${flags}m`);
    const hit: { line: string | undefined } = { line: undefined };
    await pollUntil(timeoutMs, async () => {
      hit.line = (await this.logText()).split('\n').find((l) => re.test(l));
      return hit.line !== undefined;
    });
    if (hit.line === undefined) {
      throw new PostfixInstanceError(`mail log never matched ${String(pattern)} within ${timeoutMs} ms\n--- mail log ---\n${await this.logTail(60)}`);
    }
    return hit.line;
  }

  /** Running (non-zombie) processes started for this config dir: master and its children carry MAIL_CONFIG=DIR. */
  async processes(): Promise<InstanceProcess[]> {
    const marker = `MAIL_CONFIG=${this.configDir}`;
    const found: InstanceProcess[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const environ = (await readFile(`/proc/${entry}/environ`, 'utf8')).split('\0');
        if (!environ.includes(marker)) continue;
        const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').filter(Boolean).join(' ');
        found.push({ pid: Number(entry), command: cmdline });
      } catch {
        // Gone, or not ours to read.
      }
    }
    return found;
  }

  /** PID of the running master, or null. */
  async masterPid(): Promise<number | null> {
    let text: string;
    try {
      text = await readFile(path.join(this.queueDir, 'pid', 'master.pid'), 'utf8');
    } catch {
      return null;
    }
    const pid = Number.parseInt(text.trim(), 10);
    if (!Number.isInteger(pid) || pid <= 0) return null;
    return (await isRunningPid(pid)) ? pid : null;
  }

  /** Writes main.cf, master.cf, the SASL files and the directories. */
  private async writeFiles(): Promise<void> {
    await mkdir(this.configDir, { recursive: true, mode: 0o755 });
    await mkdir(this.queueDir, { recursive: true, mode: 0o755 });
    // Left to Postfix's post-install, which creates data_directory owned by postfix (see the header).
    await mkdir(this.sinkDir, { recursive: true, mode: 0o755 });
    const nobody = await userIds('nobody');
    await chown(this.sinkDir, nobody.uid, nobody.gid);
    await writeFile(this.logPath, '', { flag: 'a' });
    await writeFile(this.mainCfPath, this.mainCf());
    await writeFile(this.masterCfPath, this.masterCf());
    if (this.options.saslUsers !== undefined) {
      const { gid } = await postfixIds();
      await mkdir(this.saslDir, { recursive: true });
      await chown(this.saslDir, 0, gid);
      await chmod(this.saslDir, 0o750);
      const smtpdConf = path.join(this.saslDir, 'smtpd.conf');
      await writeFile(
        smtpdConf,
        ['pwcheck_method: auxprop', 'auxprop_plugin: sasldb', 'mech_list: PLAIN LOGIN', `sasldb_path: ${path.join(this.saslDir, 'sasldb2')}`, ''].join('\n'),
      );
      await chown(smtpdConf, 0, gid);
      await chmod(smtpdConf, 0o640);
      for (const user of this.options.saslUsers) await this.addSaslUser(user);
    }
  }

  private mainCf(): string {
    const sasl = this.options.saslUsers !== undefined;
    const params: Array<[string, string]> = [
      ['compatibility_level', '3.6'],
      ['queue_directory', this.queueDir],
      ['data_directory', this.dataDir],
      // No syslog here: postlogd writes this file; the prefix list must allow its path.
      ['maillog_file', this.logPath],
      ['maillog_file_prefixes', this.baseDir],
      ['myhostname', this.hostname],
      ['myorigin', '$myhostname'],
      ['mydestination', ''],
      ['local_recipient_maps', ''],
      ['alias_maps', ''],
      ['alias_database', ''],
      ['inet_interfaces', 'loopback-only'],
      ['inet_protocols', 'ipv4'],
      ['mynetworks', '127.0.0.0/8'],
      // Everything goes to the sink; no DNS anywhere.
      ['relayhost', `[127.0.0.1]:${this.sinkPort}`],
      ['default_transport', 'smtp'],
      ['relay_transport', 'relay'],
      ['smtp_dns_support_level', 'disabled'],
      ['smtp_host_lookup', 'native'],
      ['smtpd_tls_security_level', 'none'],
      ['smtp_tls_security_level', 'none'],
      ['smtpd_relay_restrictions', 'permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination'],
      ['smtpd_sasl_auth_enable', sasl ? 'yes' : 'no'],
      ['smtpd_sasl_type', 'cyrus'],
      ['smtpd_sasl_path', 'smtpd'],
      ['cyrus_sasl_config_path', this.saslDir],
      ['smtpd_sasl_security_options', 'noanonymous'],
      ['smtpd_tls_auth_only', 'no'],
      // Shows "(Authenticated sender: LOGIN)" in the Received header of delivered mail.
      ['smtpd_sasl_authenticated_header', 'yes'],
      // Test speed: no penalty sleeps after rejected commands, quick retries of deferred mail.
      ['smtpd_error_sleep_time', '0s'],
      ['queue_run_delay', '1s'],
      ['minimal_backoff_time', '1s'],
      ['maximal_backoff_time', '5s'],
      ['smtp_connect_timeout', '5s'],
      ['biff', 'no'],
      ['append_dot_mydomain', 'no'],
      ['readme_directory', 'no'],
      ...Object.entries(this.options.mainCf ?? {}),
    ];
    return [
      '# Throwaway test instance written by backend-bridge/test-support/postfix-instance.ts.',
      ...params.map(([name, value]) => (value === '' ? `${name} =` : `${name} = ${value}`)),
      '',
    ].join('\n');
  }

  private masterCf(): string {
    // chroot = n elsewhere: no copies of /etc files into the queue dir; the sasldb is opened by absolute path.
    // The services that connect to the policy service (smtpd) and the milter (cleanup) may be chrooted.
    const chroot = this.options.chroot ? 'y' : 'n';
    return `# Throwaway test instance written by backend-bridge/test-support/postfix-instance.ts.
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:${this.smtpPort} inet n - ${chroot} - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       ${chroot}       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
        -o syslog_name=postfix/$service_name
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;
  }

  /**
   * Starts smtp-sink on sinkPort. Ready means the sink itself holds the listener (a connection would also succeed
   * to another program that took the port); PortTakenError if it lost the port.
   */
  private async startSink(): Promise<void> {
    this.sinkOutput = '';
    // "-d DIR/": one file per message named by a random hex id; "-u nobody": required when started as root.
    const child = spawn(SMTP_SINK, ['-u', 'nobody', '-d', `${this.sinkDir}/`, `127.0.0.1:${this.sinkPort}`, '256'], {
      env: COMMAND_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const append = (chunk: Buffer) => {
      this.sinkOutput = (this.sinkOutput + chunk.toString('utf8')).slice(-8_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    let exited = false;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.on('exit', () => {
      exited = true;
    });
    child.on('error', (error) => {
      exited = true;
      append(Buffer.from(String(error)));
    });
    this.sink = child;
    let owner = 'none' as ListenerOwner;
    await pollUntil(5_000, async () => {
      owner = child.pid === undefined ? 'none' : await loopbackListenerOwner(this.sinkPort, [child.pid]);
      // smtp-sink prints its fatal bind error, then sleeps 1 s before it exits (Postfix's msg_fatal): no need to wait.
      return exited || owner === 'ours' || ADDRESS_IN_USE.test(this.sinkOutput);
    });
    if (owner === 'ours' && !exited) {
      // A script that forgets stop() may still exit: the exit hook then kills the sink and master.
      child.unref();
      for (const stream of [child.stdout, child.stderr]) {
        if ('unref' in stream && typeof stream.unref === 'function') stream.unref();
      }
      return;
    }
    this.sink = null;
    child.kill('SIGKILL');
    // Its last words (smtp-sink says "fatal: bind: Address already in use") arrive with the pipes' end.
    await Promise.race([closed, sleep(2_000)]);
    if (ADDRESS_IN_USE.test(this.sinkOutput) || owner === 'other') throw new PortTakenError(this.sinkOutput.trim() || 'another program listens there');
    throw new PostfixInstanceError(`smtp-sink did not come up on 127.0.0.1:${this.sinkPort}:\n${this.sinkOutput}`);
  }

  private async stopSink(): Promise<void> {
    const child = this.sink;
    this.sink = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(2_000).then(() => false)]);
    if (!done) {
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(2_000)]);
    }
  }

  private async sinkOpenFiles(): Promise<Set<string>> {
    const open = new Set<string>();
    const pid = this.sink?.pid;
    if (pid === undefined) return open;
    try {
      for (const fd of await readdir(`/proc/${pid}/fd`)) {
        try {
          open.add(await readlink(`/proc/${pid}/fd/${fd}`));
        } catch {
          // fd closed meanwhile
        }
      }
    } catch {
      // sink gone
    }
    return open;
  }

  private async waitForNoProcesses(timeoutMs: number): Promise<InstanceProcess[]> {
    let left = await this.processes();
    const deadline = Date.now() + timeoutMs;
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(50);
      left = await this.processes();
    }
    return left;
  }

  /** Backdates main.cf if it changed in the last few seconds (see the header: Postfix naps on a "hot" main.cf). */
  private async coolMainCf(): Promise<void> {
    try {
      const info = await stat(this.mainCfPath);
      const past = (Date.now() - 10_000) / 1000;
      if (info.mtimeMs / 1000 > past) await utimes(this.mainCfPath, info.atimeMs / 1000, past);
    } catch {
      // No main.cf yet: the command will report that itself.
    }
  }

  private async logText(): Promise<string> {
    try {
      return await readFile(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** Synchronous last resort for process exit: SIGTERM the master (it takes its children along), kill the sink. */
  killNow(): void {
    try {
      const pid = Number.parseInt(readFileSync(path.join(this.queueDir, 'pid', 'master.pid'), 'utf8').trim(), 10);
      if (pid > 0) killQuietly(pid, 'SIGTERM');
    } catch {
      // not running
    }
    this.sink?.kill('SIGKILL');
  }
}

/** Parses swaks' transcript: the reply to the end of DATA, else the reply that ended the session early. */
export function parseSwaksTranscript(stdout: string, stderr = ''): Omit<SmtpResult, 'transcript' | 'swaksExitCode'> | null {
  interface Reply {
    code: number;
    lines: string[];
    stage: string;
  }
  const replies: Reply[] = [];
  let stage = 'CONNECT';
  let current: Reply | null = null;
  let inData = false;
  // swaks writes its own complaints ("*** ...") to stderr, the SMTP dialogue to stdout.
  const swaksErrors = `${stdout}\n${stderr}`
    .split(/\r?\n/)
    .filter((line) => line.startsWith('*** '))
    .map((line) => line.slice(4).trim());
  for (const line of stdout.split(/\r?\n/)) {
    // swaks marks server lines "<-  " (or "<** " for 4xx/5xx) and client lines " -> " (or "**> " on error).
    const server = /^<(?:-|\*\*|~|~\*)\s+(\d{3})([ -])(.*)$/.exec(line);
    if (server) {
      const [, codeText = '', sep, text = ''] = server;
      current ??= { code: Number(codeText), lines: [], stage };
      current.lines.push(text);
      if (sep === ' ') {
        replies.push(current);
        if (current.code === 354) {
          inData = true;
        } else if (inData) {
          inData = false;
        }
        current = null;
      }
      continue;
    }
    const client = /^(?: ->|\*\*>|~>) (.*)$/.exec(line);
    if (!client) continue;
    if (inData) {
      stage = 'END-OF-DATA';
      continue;
    }
    const command = (client[1] ?? '').trim().split(/\s+/)[0]?.toUpperCase() ?? '';
    if (['EHLO', 'HELO', 'LHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT', 'RSET', 'STARTTLS'].includes(command)) {
      stage = command === 'HELO' || command === 'LHLO' ? 'EHLO' : command;
    }
    // Anything else (AUTH LOGIN's base64 lines) continues the current command.
  }
  if (replies.length === 0) return null;
  const endOfData = replies.find((r) => r.stage === 'END-OF-DATA');
  // No end of DATA: the first failure (a 4xx/5xx that is not the answer to QUIT) tells why; else the last reply.
  const chosen =
    endOfData ?? replies.find((r) => r.code >= 400 && r.stage !== 'QUIT') ?? replies.filter((r) => r.stage !== 'QUIT').pop() ?? replies[replies.length - 1];
  if (!chosen) return null;
  if (chosen.stage !== 'END-OF-DATA' && chosen.code < 400) {
    // swaks gave up on its own (e.g. "Host did not advertise authentication"): no SMTP failure to report.
    return { code: 0, enhanced: null, text: swaksErrors.join('\n') || 'swaks ended the session', accepted: false, stage: chosen.stage, queueId: null };
  }
  const first = chosen.lines[0] ?? '';
  const enhancedMatch = /^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)/.exec(first);
  const enhanced = enhancedMatch?.[1] ?? null;
  const text = [enhancedMatch ? first.slice(enhancedMatch[0].length) : first, ...chosen.lines.slice(1).map((l) => l.replace(/^[245]\.\d{1,3}\.\d{1,3}\s+/, ''))]
    .join('\n')
    .trim();
  const queueId = /queued as ([0-9A-Za-z]+)/.exec(text)?.[1] ?? null;
  return {
    code: chosen.code,
    enhanced,
    text,
    accepted: chosen.stage === 'END-OF-DATA' && chosen.code >= 200 && chosen.code < 300,
    stage: chosen.stage,
    queueId,
  };
}

function parseSinkFile(file: string, id: string, mtimeMs: number, raw: string): DeliveredMessage {
  const split = raw.indexOf('\n\n');
  const headerBlock = split >= 0 ? raw.slice(0, split) : raw;
  // smtp-sink appends one empty line after the message.
  const body = split >= 0 ? raw.slice(split + 2).replace(/\n$/, '') : '';
  const headers: Array<{ name: string; value: string }> = [];
  for (const line of headerBlock.split('\n')) {
    const last = headers[headers.length - 1];
    if (/^[ \t]/.test(line) && last) {
      last.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  const first = (name: string) => headers.find((h) => h.name === name)?.value ?? null;
  const address = (args: string) => /^<([^>]*)>/.exec(args)?.[1] ?? args.split(/\s+/)[0] ?? '';
  const mailArgs = first('x-mail-args');
  return {
    path: file,
    id,
    mtimeMs,
    clientAddr: first('x-client-addr'),
    mailFrom: mailArgs === null ? null : address(mailArgs),
    recipients: headers.filter((h) => h.name === 'x-rcpt-args').map((h) => address(h.value)),
    headers,
    subject: first('subject'),
    body,
    raw,
  };
}

function describeFailure(command: string, result: RunResult, logTail: string): string {
  const status = result.timedOut ? 'timed out' : result.signal ? `killed by ${result.signal}` : `exit ${String(result.exitCode)}`;
  return (
    `${command}: ${status}` +
    (result.stderr.trim() ? `\n--- stderr ---\n${result.stderr.trim()}` : '') +
    (result.stdout.trim() ? `\n--- stdout ---\n${result.stdout.trim()}` : '') +
    (logTail.trim() ? `\n--- mail log ---\n${logTail.trim()}` : '')
  );
}

/**
 * Runs a command without throwing on a non-zero exit. Resolves shortly after the process exits even if a
 * daemon it started still holds our pipes (`postfix reload` leaves a background postsuper behind).
 */
function run(command: string, args: string[], opts: { input?: string; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: COMMAND_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    let exitCode: number | null = null;
    let signal: NodeJS.Signals | null = null;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ exitCode, signal, stdout, stderr, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (error) => {
      stderr += `${String(error)}\n`;
      finish();
    });
    child.on('exit', (code, sig) => {
      exitCode = code;
      signal = sig;
      setTimeout(finish, 300);
    });
    child.on('close', finish);
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

async function pollUntil(timeoutMs: number, check: () => Promise<boolean>, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** A loopback port that was free a moment ago and that no other instance of this process was given. */
export async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address !== null ? address.port : 0;
        server.close(() => resolve(chosen));
      });
    });
    if (port > 0 && !reservedPorts.has(port)) {
      reservedPorts.add(port);
      return port;
    }
  }
}

async function isRunningPid(pid: number): Promise<boolean> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const state = /^State:\s+(\S)/m.exec(status)?.[1];
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`));
  const fields = line?.split(':');
  if (!fields || fields.length < 4) throw new PostfixInstanceError(`user ${name} not found in /etc/passwd`);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

let postfixIdsCache: Promise<{ uid: number; gid: number }> | null = null;
function postfixIds(): Promise<{ uid: number; gid: number }> {
  postfixIdsCache ??= userIds('postfix');
  return postfixIdsCache;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const instance of liveInstances) instance.killNow();
  });
}
