import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { EndpointFacts, WiringFacts } from '../core/health-check.js';
import { SOCKET_DIRECTORY_NAME } from './listen-address.js';
import { parseMasterServices, STATE_FILE, type MasterService } from './wiring.js';

const execFileAsync = promisify(execFile);

/**
 * How Postfix is wired to the daemon, read only (for the health view): what Postfix itself reads from main.cf and
 * master.cf (postconf), not what `postfix wire` once wrote, since Plesk may have rewritten main.cf since.
 */
export async function inspectWiring(configDir: string): Promise<WiringFacts> {
  let values: string[];
  let services: MasterService[];
  try {
    values = (await postconf(configDir, ['-h', 'queue_directory', 'smtpd_end_of_data_restrictions', 'non_smtpd_milters', 'smtpd_policy_service_default_action'])).split('\n');
    services = parseMasterServices(await postconf(configDir, ['-F']));
  } catch (error) {
    return { readable: false, configDir, error: (error as Error).message };
  }
  const [queueDirectory = '', restrictions = '', milters = '', defaultAction = ''] = values.map((value) => value.trim());
  const recorded = await recordedEndpoints(configDir);
  const policy = policyEndpoints(restrictions).find((endpoint) => endpoint === recorded.policy || isOurSocket(endpoint, 'policy'));
  const milter = listEntries(milters).find((endpoint) => endpoint === recorded.milter || isOurSocket(endpoint, 'milter'));
  const facts = async (endpoint: string, command: string): Promise<EndpointFacts> => ({
    endpoint,
    chrootedServices: services.filter((service) => service.command === command && service.chrooted).map((service) => service.service),
    socket: endpoint.startsWith('unix:') ? await socketAt(path.resolve(queueDirectory, endpoint.slice('unix:'.length))) : null,
  });
  return {
    readable: true,
    configDir,
    policy: policy ? await facts(policy, 'smtpd') : null,
    milter: milter ? await facts(milter, 'cleanup') : null,
    milterWanted: recorded.milter !== null,
    failOpen: defaultAction.toUpperCase() === 'DUNNO',
  };
}

async function postconf(configDir: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('postconf', ['-c', configDir, ...args], { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });
    return stdout;
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new Error(`postconf ${args[0] ?? ''} failed: ${(failed.stderr || failed.message).trim()}`);
  }
}

/** Entries of a Postfix list: separated by commas or white space; `{ ... }` groups (milter options) stay whole. */
function listEntries(value: string): string[] {
  return (value.match(/\{[^}]*\}|[^\s,]+/g) ?? []).map((entry) => entry.replace(/^\{\s*([^\s,]+).*\}$/s, '$1'));
}

function policyEndpoints(restrictions: string): string[] {
  const entries = listEntries(restrictions);
  return entries.flatMap((entry, index) => (entry === 'check_policy_service' && entries[index + 1] ? [entries[index + 1] as string] : []));
}

/** Our default sockets, written relative to the queue directory or as absolute paths. */
function isOurSocket(endpoint: string, service: 'policy' | 'milter'): boolean {
  return endpoint.startsWith('unix:') && endpoint.endsWith(`${SOCKET_DIRECTORY_NAME}/${service}`);
}

/**
 * The endpoints `postfix wire` wrote, from its record beside main.cf (read defensively: only to tell our entries
 * from others'); null where it wrote none.
 */
async function recordedEndpoints(configDir: string): Promise<{ policy: string | null; milter: string | null }> {
  try {
    const state = JSON.parse(await readFile(path.join(configDir, STATE_FILE), 'utf8')) as { policyService?: unknown; parameters?: unknown };
    const policy = typeof state.policyService === 'string' ? (state.policyService.split(/\s+/)[1] ?? null) : null;
    const parameters = Array.isArray(state.parameters) ? (state.parameters as Array<{ name?: unknown; wired?: unknown }>) : [];
    const wiredMilters = parameters.find((parameter) => parameter.name === 'non_smtpd_milters')?.wired;
    const milter = typeof wiredMilters === 'string' ? (listEntries(wiredMilters.replace(/^[^=]*=/, '')).at(-1) ?? null) : null;
    return { policy, milter };
  } catch {
    return { policy: null, milter: null };
  }
}

async function socketAt(socketPath: string): Promise<{ path: string; present: boolean }> {
  try {
    return { path: socketPath, present: (await stat(socketPath)).isSocket() };
  } catch {
    return { path: socketPath, present: false };
  }
}
