import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findParameter } from './main-cf.js';
import { inspectWiring, mainCfFingerprint, repairWiring, unwirePostfix, wirePostfix } from './wiring.js';
import { repairMainCf, wiringStatus, type WiringState } from './wiring-status.js';

const POLICY = { kind: 'tcp', host: '127.0.0.1', port: 10040 } as const;
const MILTER = { kind: 'tcp', host: '127.0.0.1', port: 10041 } as const;
const BASE = 'myhostname = mx.example.com\nsmtpd_milters = inet:127.0.0.1:12768\n';

function configDirWith(mainCf: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-wiring-status-'));
  writeFileSync(path.join(dir, 'main.cf'), mainCf);
  writeFileSync(path.join(dir, 'master.cf'), 'smtp inet n - y - - smtpd\ncleanup unix n - y - 0 cleanup\n');
  return dir;
}

const mainCfOf = (dir: string) => readFileSync(path.join(dir, 'main.cf'), 'utf8');
const stateOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'outgoing-limits-wiring.json'), 'utf8')) as WiringState;

/** What Plesk's mail repair does to main.cf: `postconf -e` of both lists with its own values, and a default action. */
function pleskRewrite(mainCf: string): string {
  return mainCf
    .replace(/^smtpd_end_of_data_restrictions = .*\n/m, 'smtpd_end_of_data_restrictions = check_client_access hash:/etc/postfix/plesk\n')
    .replace(/^non_smtpd_milters = .*\n/m, 'non_smtpd_milters = inet:127.0.0.1:12768\n')
    .replace(/^milter_default_action = .*\n/m, 'milter_default_action = tempfail\n');
}

describe('wiringStatus: whether main.cf carries our entries, and how', () => {
  it('reads how it was wired and finds every entry present after wire', async () => {
    const dir = configDirWith(BASE);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    const status = await inspectWiring(dir);
    expect(status).toMatchObject({ wired: true, intact: true, policyService: 'check_policy_service inet:127.0.0.1:10040', milter: 'inet:127.0.0.1:10041', failOpen: true, missing: [] });
    expect(status.entries.map((e) => e.parameter)).toEqual(['smtpd_end_of_data_restrictions', 'smtpd_policy_service_default_action', 'non_smtpd_milters', 'milter_protocol', 'milter_default_action']);
  });

  it('names each missing entry; our element anywhere in a list counts, a changed value does not', async () => {
    const dir = configDirWith(BASE);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    const state = stateOf(dir);
    const rewritten = pleskRewrite(mainCfOf(dir));
    expect(wiringStatus(rewritten, state).missing).toEqual([
      'smtpd_end_of_data_restrictions: check_policy_service inet:127.0.0.1:10040',
      'non_smtpd_milters: inet:127.0.0.1:10041',
      'milter_default_action: accept',
    ]);
    const reordered = mainCfOf(dir).replace(/^non_smtpd_milters = .*$/m, 'non_smtpd_milters = inet:127.0.0.1:10041 inet:127.0.0.1:12768');
    expect(wiringStatus(reordered, state).intact).toBe(true);
  });

  it('a Postfix never wired, or unwired, is not wired whatever main.cf says', async () => {
    expect(wiringStatus('smtpd_end_of_data_restrictions = check_policy_service unix:outgoing-limits/policy\n', null)).toMatchObject({ wired: false, intact: false, missing: [] });
    const dir = configDirWith(BASE);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: false, reload: false });
    expect((await inspectWiring(dir)).failOpen).toBe(false);
    await unwirePostfix(dir, { reload: false });
    expect((await inspectWiring(dir)).wired).toBe(false);
  });
});

describe('repairing the wiring after another program rewrote main.cf', () => {
  it('puts back exactly what wire writes, after what the other program left, and leaves the rest alone', async () => {
    const dir = configDirWith(BASE);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    const wired = mainCfOf(dir);
    const rewritten = `${pleskRewrite(wired)}message_size_limit = 1000\n`;
    const repair = repairMainCf(rewritten, stateOf(dir));
    expect(findParameter(repair.text, 'smtpd_end_of_data_restrictions')?.value).toBe('check_client_access hash:/etc/postfix/plesk, check_policy_service inet:127.0.0.1:10040');
    expect(findParameter(repair.text, 'non_smtpd_milters')?.value).toBe('inet:127.0.0.1:12768, inet:127.0.0.1:10041');
    expect(findParameter(repair.text, 'milter_default_action')?.value).toBe('accept');
    expect(repair.text).toContain('message_size_limit = 1000\n');
    expect(wiringStatus(repair.text, repair.state).intact).toBe(true);
    // Nothing missing, nothing to do: repairing the repaired text changes nothing.
    expect(repairMainCf(repair.text, repair.state)).toMatchObject({ text: repair.text, restored: [] });
  });

  it('parameters removed outright come back in the order wire writes them; unwire then gives back the other program\'s file', async () => {
    const dir = configDirWith(BASE);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    const removed = mainCfOf(dir)
      .split('\n')
      .filter((line) => !/^(smtpd_end_of_data_restrictions|non_smtpd_milters|smtpd_policy_service_default_action) =/.test(line))
      .join('\n');
    writeFileSync(path.join(dir, 'main.cf'), removed);
    const result = await repairWiring(dir, { reload: false });
    expect(result).toEqual({
      outcome: 'restored',
      restored: ['smtpd_end_of_data_restrictions: check_policy_service inet:127.0.0.1:10040', 'smtpd_policy_service_default_action: DUNNO', 'non_smtpd_milters: inet:127.0.0.1:10041'],
      reloaded: false,
    });
    expect(mainCfOf(dir).endsWith('smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:10040\nsmtpd_policy_service_default_action = DUNNO\nnon_smtpd_milters = inet:127.0.0.1:10041\n')).toBe(true);
    expect((await inspectWiring(dir)).intact).toBe(true);
    await unwirePostfix(dir, { reload: false });
    // The milter settings wire changed come off as well; what the other program wrote stays as it wrote it.
    expect(mainCfOf(dir)).toBe(BASE);
  });

  it('after a repair of a rewritten list, unwire restores the rewritten list, not the one from before wire', async () => {
    const dir = configDirWith(BASE);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    writeFileSync(path.join(dir, 'main.cf'), pleskRewrite(mainCfOf(dir)));
    await repairWiring(dir, { reload: false });
    await unwirePostfix(dir, { reload: false });
    const text = mainCfOf(dir);
    expect(findParameter(text, 'smtpd_end_of_data_restrictions')?.value).toBe('check_client_access hash:/etc/postfix/plesk');
    expect(findParameter(text, 'non_smtpd_milters')?.value).toBe('inet:127.0.0.1:12768');
    expect(findParameter(text, 'milter_default_action')?.value).toBe('tempfail');
  });

  it('never wires a Postfix that was not wired or was unwired', async () => {
    const dir = configDirWith(BASE);
    expect(await repairWiring(dir, { reload: false })).toEqual({ outcome: 'not-wired' });
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    await unwirePostfix(dir, { reload: false });
    writeFileSync(path.join(dir, 'main.cf'), `${BASE}relayhost = [mx.example.net]\n`);
    expect(await repairWiring(dir, { reload: false })).toEqual({ outcome: 'not-wired' });
    expect(mainCfOf(dir)).toBe(`${BASE}relayhost = [mx.example.net]\n`);
  });

  it('writes nothing when main.cf is not the version the caller saw settle, or is empty', async () => {
    const dir = configDirWith(BASE);
    await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
    const seen = await mainCfFingerprint(dir);
    const rewritten = pleskRewrite(mainCfOf(dir));
    writeFileSync(path.join(dir, 'main.cf'), rewritten);
    expect(await repairWiring(dir, { reload: false, expect: seen })).toEqual({ outcome: 'changed-meanwhile' });
    expect(mainCfOf(dir)).toBe(rewritten);
    writeFileSync(path.join(dir, 'main.cf'), '');
    await expect(repairWiring(dir, { reload: false })).rejects.toThrow(/is empty: not repairing a file that may be half-written/);
    expect(mainCfOf(dir)).toBe('');
  });
});
