import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findParameter } from './main-cf.js';
import { BACKUP_FILE, isWired, parseMasterServices, postfixEndpoint, unwirePostfix, wirePostfix } from './wiring.js';

const POLICY = { kind: 'tcp', host: '127.0.0.1', port: 10040 } as const;
const MILTER = { kind: 'tcp', host: '127.0.0.1', port: 10041 } as const;

/** smtpd and cleanup as Debian's master.cf runs them, chrooted or not. */
function masterCf(chroot: { smtpd: string; cleanup: string }): string {
  return [
    `smtp      inet  n       -       ${chroot.smtpd}       -       -       smtpd`,
    `submission inet n       -       ${chroot.smtpd}       -       -       smtpd`,
    '  -o smtpd_sasl_auth_enable=yes',
    'pickup    unix  n       -       y       60      1       pickup',
    `cleanup   unix  n       -       ${chroot.cleanup}       -       0       cleanup`,
    'qmgr      unix  n       -       n       300     1       qmgr',
    '',
  ].join('\n');
}

function configDirWith(mainCf: string, master = masterCf({ smtpd: 'y', cleanup: 'y' })): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-wiring-'));
  writeFileSync(path.join(dir, 'main.cf'), mainCf);
  writeFileSync(path.join(dir, 'master.cf'), master);
  return dir;
}

const mainCfOf = (dir: string) => readFileSync(path.join(dir, 'main.cf'), 'utf8');

const DEBIAN_LIKE = `# See /usr/share/postfix/main.cf.dist for a commented, more complete version
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no

smtpd_relay_restrictions = permit_mynetworks
    permit_sasl_authenticated
    defer_unauth_destination
myhostname = mail.example.com
`;

describe('findParameter', () => {
  it('reads a logical line with continuations, and the last of repeated names', () => {
    const span = findParameter(DEBIAN_LIKE, 'smtpd_relay_restrictions');
    expect(span?.value).toBe('permit_mynetworks permit_sasl_authenticated defer_unauth_destination');
    expect(span?.text.endsWith('defer_unauth_destination\n')).toBe(true);
    expect(findParameter('a = 1\nb = 2\na = 3\n', 'a')?.value).toBe('3');
    expect(findParameter('#smtpd_end_of_data_restrictions = x\n', 'smtpd_end_of_data_restrictions')).toBeNull();
  });
});

describe('postfix wire / unwire', () => {
  it('--recipient-domains puts the observe-only check first in smtpd_recipient_restrictions; unwire restores main.cf byte for byte', async () => {
    const original = `${DEBIAN_LIKE}smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination\n`;
    const dir = configDirWith(original);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false, recipientStage: true });
    expect(findParameter(mainCfOf(dir), 'smtpd_recipient_restrictions')?.value).toBe(
      'check_policy_service inet:127.0.0.1:10040, permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
    );
    await unwirePostfix(dir, { reload: false });
    expect(mainCfOf(dir)).toBe(original);
  });

  it('without --recipient-domains smtpd_recipient_restrictions is left alone', async () => {
    const dir = configDirWith(DEBIAN_LIKE);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    expect(findParameter(mainCfOf(dir), 'smtpd_recipient_restrictions')).toBeNull();
  });

  it('adds the policy service fail-open, and unwire restores main.cf byte for byte', async () => {
    const dir = configDirWith(DEBIAN_LIKE);
    const wired = await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    expect(wired.changed).toBe(true);
    const text = mainCfOf(dir);
    expect(findParameter(text, 'smtpd_end_of_data_restrictions')?.value).toBe('check_policy_service inet:127.0.0.1:10040');
    expect(findParameter(text, 'smtpd_policy_service_default_action')?.value).toBe('DUNNO');
    expect(findParameter(text, 'non_smtpd_milters')?.value).toBe('inet:127.0.0.1:10041');
    expect(findParameter(text, 'milter_default_action')?.value).toBe('accept');
    expect(findParameter(text, 'milter_protocol')?.value).toBe('6');
    // Never in smtpd_milters: SMTP mail is counted by the policy service.
    expect(findParameter(text, 'smtpd_milters')).toBeNull();
    expect(readFileSync(path.join(dir, BACKUP_FILE), 'utf8')).toBe(DEBIAN_LIKE);
    expect(await isWired(dir)).toBe(true);
    const unwired = await unwirePostfix(dir, { reload: false });
    expect(unwired.changed).toBe(true);
    expect(mainCfOf(dir)).toBe(DEBIAN_LIKE);
    expect(await isWired(dir)).toBe(false);
  });

  it('keeps existing end-of-data restrictions first and restores their exact original text', async () => {
    const original = `${DEBIAN_LIKE}smtpd_end_of_data_restrictions =\n    check_client_access hash:/etc/postfix/eod\n# trailing comment\n`;
    const dir = configDirWith(original);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    expect(findParameter(mainCfOf(dir), 'smtpd_end_of_data_restrictions')?.value).toBe(
      'check_client_access hash:/etc/postfix/eod, check_policy_service inet:127.0.0.1:10040',
    );
    await unwirePostfix(dir, { reload: false });
    expect(mainCfOf(dir)).toBe(original);
  });

  it('is idempotent and follows a changed address without stacking entries', async () => {
    const dir = configDirWith(DEBIAN_LIKE);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    const once = mainCfOf(dir);
    expect((await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false })).changed).toBe(false);
    expect(mainCfOf(dir)).toBe(once);
    await wirePostfix({ configDir: dir, policy: { kind: 'tcp', host: '127.0.0.1', port: 10999 }, milter: MILTER, failOpen: true, reload: false });
    expect(findParameter(mainCfOf(dir), 'smtpd_end_of_data_restrictions')?.value).toBe('check_policy_service inet:127.0.0.1:10999');
    await unwirePostfix(dir, { reload: false });
    expect(mainCfOf(dir)).toBe(DEBIAN_LIKE);
  });

  it('fail-closed leaves Postfix default action alone; a file without final newline comes back exactly', async () => {
    const original = 'myhostname = mx.example.com';
    const dir = configDirWith(original);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: false, reload: false });
    expect(findParameter(mainCfOf(dir), 'smtpd_policy_service_default_action')).toBeNull();
    expect(findParameter(mainCfOf(dir), 'milter_default_action')).toBeNull();
    expect(mainCfOf(dir)).toBe(
      'myhostname = mx.example.com\nsmtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:10040\nnon_smtpd_milters = inet:127.0.0.1:10041\nmilter_protocol = 6\n',
    );
    await unwirePostfix(dir, { reload: false });
    expect(mainCfOf(dir)).toBe(original);
  });

  it('keeps existing milters first, replaces milter settings, and restores all of it byte for byte', async () => {
    const original = `${DEBIAN_LIKE}smtpd_milters = inet:127.0.0.1:12768\nnon_smtpd_milters = $smtpd_milters\nmilter_protocol = 2\nmilter_default_action = tempfail\n`;
    const dir = configDirWith(original);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: { kind: 'tcp', host: '127.0.0.1', port: 10555 }, failOpen: true, reload: false });
    const text = mainCfOf(dir);
    expect(findParameter(text, 'non_smtpd_milters')?.value).toBe('$smtpd_milters, inet:127.0.0.1:10555');
    expect(findParameter(text, 'smtpd_milters')?.value).toBe('inet:127.0.0.1:12768');
    expect(findParameter(text, 'milter_protocol')?.value).toBe('6');
    expect(findParameter(text, 'milter_default_action')?.value).toBe('accept');
    // Wiring again with another port replaces our entry instead of adding a second one.
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    expect(findParameter(mainCfOf(dir), 'non_smtpd_milters')?.value).toBe('$smtpd_milters, inet:127.0.0.1:10041');
    await unwirePostfix(dir, { reload: false });
    expect(mainCfOf(dir)).toBe(original);
  });

  it('without the milter leaves every milter parameter alone', async () => {
    const dir = configDirWith(DEBIAN_LIKE);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: null, failOpen: true, reload: false });
    for (const name of ['non_smtpd_milters', 'milter_protocol', 'milter_default_action']) expect(findParameter(mainCfOf(dir), name)).toBeNull();
    await unwirePostfix(dir, { reload: false });
    expect(mainCfOf(dir)).toBe(DEBIAN_LIKE);
  });

  it('leaves a parameter alone when someone changed it after wiring, and keeps their other edits', async () => {
    const dir = configDirWith(DEBIAN_LIKE);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    const edited = mainCfOf(dir).replace('smtpd_policy_service_default_action = DUNNO', 'smtpd_policy_service_default_action = 451 4.3.5 busy') + 'message_size_limit = 1000\n';
    writeFileSync(path.join(dir, 'main.cf'), edited);
    const result = await unwirePostfix(dir, { reload: false });
    expect(result.leftAlone).toEqual(['smtpd_policy_service_default_action']);
    const text = mainCfOf(dir);
    expect(findParameter(text, 'smtpd_end_of_data_restrictions')).toBeNull();
    expect(text).toContain('smtpd_policy_service_default_action = 451 4.3.5 busy\n');
    expect(text).toContain('message_size_limit = 1000\n');
  });

  it('unwire of a main.cf that was never wired touches nothing', async () => {
    const dir = configDirWith(DEBIAN_LIKE);
    expect((await unwirePostfix(dir, { reload: false })).changed).toBe(false);
    expect(mainCfOf(dir)).toBe(DEBIAN_LIKE);
    expect(existsSync(path.join(dir, BACKUP_FILE))).toBe(false);
  });
});

describe('the socket form written for how master.cf runs smtpd and cleanup', () => {
  const QUEUE = '/var/spool/postfix';
  const withQueue = `${DEBIAN_LIKE}queue_directory = ${QUEUE}\n`;

  it('reads chroot per service from postconf -F; "-" is the default, n', () => {
    const services = parseMasterServices(
      ['smtp/inet/chroot = y', 'smtp/inet/command = smtpd', 'cleanup/unix/chroot = -', 'cleanup/unix/command = cleanup -v', 'pickup/unix/chroot = y', 'pickup/unix/command = pickup'].join('\n'),
    );
    expect(services).toEqual([
      { service: 'smtp/inet', command: 'smtpd', chrooted: true },
      { service: 'cleanup/unix', command: 'cleanup', chrooted: false },
      { service: 'pickup/unix', command: 'pickup', chrooted: true },
    ]);
  });

  it('a socket inside the queue directory is written relative to it, chrooted or not', () => {
    for (const chrooted of [true, false]) {
      const result = postfixEndpoint({ kind: 'unix', path: `${QUEUE}/outgoing-limits/policy` }, QUEUE, [{ service: 'smtp/inet', command: 'smtpd', chrooted }]);
      expect(result).toEqual({ ok: true, value: 'unix:outgoing-limits/policy' });
    }
  });

  it('a socket outside the queue directory is absolute when unchrooted, refused naming the chrooted services', () => {
    const outside = { kind: 'unix', path: '/run/outgoing-limits/policy' } as const;
    expect(postfixEndpoint(outside, QUEUE, [{ service: 'smtp/inet', command: 'smtpd', chrooted: false }])).toEqual({ ok: true, value: 'unix:/run/outgoing-limits/policy' });
    const refused = postfixEndpoint(outside, QUEUE, [
      { service: 'smtp/inet', command: 'smtpd', chrooted: true },
      { service: 'submission/inet', command: 'smtpd', chrooted: false },
      { service: 'smtps/inet', command: 'smtpd', chrooted: true },
    ]);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toMatch(/\/run\/outgoing-limits\/policy is outside Postfix's queue directory \/var\/spool\/postfix, but smtp\/inet, smtps\/inet run chrooted/);
    // A path that merely starts like the queue directory is not inside it.
    expect(postfixEndpoint({ kind: 'unix', path: `${QUEUE}-other/p` }, QUEUE, [{ service: 'smtp/inet', command: 'smtpd', chrooted: true }]).ok).toBe(false);
  });

  it('TCP is written as inet:, IPv6 in brackets', () => {
    expect(postfixEndpoint(POLICY, QUEUE, [])).toEqual({ ok: true, value: 'inet:127.0.0.1:10040' });
    expect(postfixEndpoint({ kind: 'tcp', host: '::1', port: 10040 }, QUEUE, [])).toEqual({ ok: true, value: 'inet:[::1]:10040' });
  });

  it('by default wires both sockets in the queue directory, relative; unwire restores main.cf byte for byte', async () => {
    const dir = configDirWith(withQueue);
    await wirePostfix({ configDir: dir, failOpen: true, reload: false });
    const text = mainCfOf(dir);
    expect(findParameter(text, 'smtpd_end_of_data_restrictions')?.value).toBe('check_policy_service unix:outgoing-limits/policy');
    expect(findParameter(text, 'non_smtpd_milters')?.value).toBe('unix:outgoing-limits/milter');
    await unwirePostfix(dir, { reload: false });
    expect(mainCfOf(dir)).toBe(withQueue);
  });

  it('refuses a socket outside the queue directory when smtpd or cleanup run chrooted, and changes nothing', async () => {
    const dir = configDirWith(withQueue, masterCf({ smtpd: 'n', cleanup: 'y' }));
    await expect(wirePostfix({ configDir: dir, milter: { kind: 'unix', path: '/run/oml/milter' }, failOpen: true, reload: false })).rejects.toThrow(
      /cannot wire the milter: \/run\/oml\/milter is outside .* but cleanup\/unix runs chrooted/,
    );
    expect(mainCfOf(dir)).toBe(withQueue);
    expect(await isWired(dir)).toBe(false);
    // The same path is fine for an unchrooted smtpd.
    await wirePostfix({ configDir: dir, policy: { kind: 'unix', path: '/run/oml/policy' }, milter: null, failOpen: true, reload: false });
    expect(findParameter(mainCfOf(dir), 'smtpd_end_of_data_restrictions')?.value).toBe('check_policy_service unix:/run/oml/policy');
  });

  it('"-" in the chroot field means not chrooted (Postfix 3.0 and later)', async () => {
    const dir = configDirWith(withQueue, masterCf({ smtpd: '-', cleanup: '-' }));
    await wirePostfix({ configDir: dir, policy: { kind: 'unix', path: '/run/oml/policy' }, milter: { kind: 'unix', path: '/run/oml/milter' }, failOpen: true, reload: false });
    expect(findParameter(mainCfOf(dir), 'non_smtpd_milters')?.value).toBe('unix:/run/oml/milter');
  });
});
