/**
 * What `postfix wire` put in main.cf, whether it is still there, and how to put back what went missing: pure
 * functions of main.cf's text and the wiring state file, shared by the daemon's wiring guard and the health view.
 */
import { appendLine, findParameter, parameterLine, replaceSpan } from './main-cf.js';

/** One parameter wire changed: what stood there before (null: absent) and what we wrote, to undo it exactly. */
export interface ChangedParameter {
  name: string;
  original: string | null;
  wired: string;
  /** The file's last line had no newline and we added one before appending. */
  addedNewline: boolean;
}

/** The wiring state file (`outgoing-limits-wiring.json` beside main.cf): present from `wire` until `unwire`. */
export interface WiringState {
  version: 1;
  /** `check_policy_service ENDPOINT`, as it stands in smtpd_end_of_data_restrictions. */
  policyService: string;
  parameters: ChangedParameter[];
}

/**
 * One thing wire put in main.cf. A list parameter (restrictions, milters) may hold what other programs put there
 * too, so only our element must be in it; any other parameter must have our value.
 */
export interface WiringEntry {
  parameter: string;
  kind: 'list-element' | 'value';
  value: string;
}

export interface WiringEntryStatus extends WiringEntry {
  present: boolean;
  /** The parameter's value in main.cf now; null when main.cf does not set it. */
  current: string | null;
}

export interface WiringStatus {
  /** `postfix wire` wired this Postfix and no `postfix unwire` undid it (the state file says so). */
  wired: boolean;
  /** Wired and every entry is in main.cf. */
  intact: boolean;
  /** How: the policy service and milter endpoints as main.cf names them, and fail-open or fail-closed. */
  policyService: string | null;
  milter: string | null;
  failOpen: boolean | null;
  entries: WiringEntryStatus[];
  /** The entries that are gone, each as `parameter: value`. */
  missing: string[];
}

const LIST_PARAMETERS = new Set(['smtpd_end_of_data_restrictions', 'non_smtpd_milters']);
/** Where `postfix wire --recipient-domains` puts the observe-only RCPT check. */
const RECIPIENT_RESTRICTIONS = 'smtpd_recipient_restrictions';

/** Postfix splits lists on commas and white space; `check_policy_service X` is two elements. */
function listTokens(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

function containsElement(listValue: string, element: string): boolean {
  const tokens = listTokens(listValue);
  const wanted = listTokens(element);
  if (wanted.length === 0) return true;
  for (let i = 0; i + wanted.length <= tokens.length; i++) {
    if (wanted.every((token, j) => tokens[i + j] === token)) return true;
  }
  return false;
}

/** The entries wire wrote, read back from the state file (each recorded parameter's wired line). */
export function expectedEntries(state: WiringState): WiringEntry[] {
  return state.parameters.map((parameter): WiringEntry => {
    if (parameter.name === 'smtpd_end_of_data_restrictions' || parameter.name === RECIPIENT_RESTRICTIONS) return { parameter: parameter.name, kind: 'list-element', value: state.policyService };
    const wired = findParameter(parameter.wired, parameter.name)?.value ?? '';
    // Wire appends our milter last, so the last element of the list it wrote is ours.
    if (LIST_PARAMETERS.has(parameter.name)) return { parameter: parameter.name, kind: 'list-element', value: listTokens(wired).at(-1) ?? '' };
    return { parameter: parameter.name, kind: 'value', value: wired };
  });
}

export function describeEntry(entry: WiringEntry): string {
  return `${entry.parameter}: ${entry.value}`;
}

/** Whether main.cf carries our entries, and how we are wired (for the daemon's guard and the health view). */
export function wiringStatus(mainCf: string, state: WiringState | null): WiringStatus {
  if (!state) return { wired: false, intact: false, policyService: null, milter: null, failOpen: null, entries: [], missing: [] };
  const entries = expectedEntries(state).map((entry): WiringEntryStatus => {
    const current = findParameter(mainCf, entry.parameter)?.value ?? null;
    const present = current !== null && (entry.kind === 'list-element' ? containsElement(current, entry.value) : current === entry.value);
    return { ...entry, current, present };
  });
  const missing = entries.filter((entry) => !entry.present).map(describeEntry);
  return {
    wired: true,
    intact: missing.length === 0,
    policyService: state.policyService,
    milter: entries.find((entry) => entry.parameter === 'non_smtpd_milters')?.value ?? null,
    failOpen: entries.some((entry) => entry.parameter === 'smtpd_policy_service_default_action'),
    entries,
    missing,
  };
}

export interface Repair {
  text: string;
  /** The state to record with the repaired text: unwire then gives back what the other program had written. */
  state: WiringState;
  /** What was put back, each as `parameter: value`; empty when nothing was missing. */
  restored: string[];
}

/**
 * Puts back the entries that are gone, as wire writes them: our element appended last to whatever the other
 * program left in a list, our value for the others. Parameters still carrying our entries are not touched. The
 * state records what the other program had written as the original, so unwire undoes only what we did.
 */
export function repairMainCf(mainCf: string, state: WiringState): Repair {
  const entries = expectedEntries(state);
  let text = mainCf;
  const kept: ChangedParameter[] = [];
  const appended: ChangedParameter[] = [];
  const restored: string[] = [];
  state.parameters.forEach((parameter, index) => {
    const entry = entries[index] as WiringEntry;
    const span = findParameter(text, parameter.name);
    const current = span?.value ?? null;
    const present = current !== null && (entry.kind === 'list-element' ? containsElement(current, entry.value) : current === entry.value);
    if (present) {
      kept.push(parameter);
      return;
    }
    // The recipient-stage check goes first (a permit before it would hide recipients); the others last.
    const value = entry.kind === 'list-element' && current ? (entry.parameter === RECIPIENT_RESTRICTIONS ? `${entry.value}, ${current}` : `${current}, ${entry.value}`) : entry.value;
    const wired = parameterLine(parameter.name, value);
    restored.push(describeEntry(entry));
    if (span) {
      kept.push({ name: parameter.name, original: span.text, wired, addedNewline: false });
      text = replaceSpan(text, span, wired);
    } else {
      // Appended lines come off last-first on unwire, so they go to the end of the record too.
      appended.push({ name: parameter.name, original: null, wired, addedNewline: text.length > 0 && !text.endsWith('\n') });
      text = appendLine(text, wired);
    }
  });
  return { text, state: { ...state, parameters: [...kept, ...appended] }, restored };
}
