import { SmnError } from '@smn/core';
import { TrainErrorCode } from '../errors.js';

/** A parsed value with the text it came from (strings keep `1.0` as written, not `1`). */
export interface OverrideValue {
  value: unknown;
  raw: string;
}

/** One command-line override in Hydra's grammar. */
export interface ParsedOverride {
  /** The override as written (trimmed). */
  text: string;
  /** `a.b=v` set, `+a.b=v` add (the key must not exist), `++a.b=v` add or set, `~a.b[=v]` delete. */
  op: 'set' | 'add' | 'force' | 'delete';
  key: string;
  /** The value; absent for `~a.b`. */
  value?: OverrideValue;
  /** Raw choices when the value is a sweep (`a,b`, `choice(a,b)`, `range(0,3)`). */
  sweep?: string[];
}

function bad(text: string, why: string): SmnError {
  return new SmnError(TrainErrorCode.ConfigOverride, `cannot parse override '${text}': ${why}`, {
    kind: 'usage',
    details: { override: text },
  });
}

const KEY_RE = /^[A-Za-z_][\w-]*(\.[\w-]+)*$/;
const GROUP_KEY_RE = /^[A-Za-z_][\w-]*(\/[\w-]+)+$/;

/** Interprets an unquoted scalar as Hydra does: null, true/false (any case), int, float, inf/nan, else a string. */
export function parsePrimitive(text: string): unknown {
  const t = text.trim();
  if (/^null$/i.test(t)) return null;
  if (/^true$/i.test(t)) return true;
  if (/^false$/i.test(t)) return false;
  if (/^[+-]?\d+$/.test(t)) return Number(t);
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  if (/^[+-]?inf$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return NaN;
  return t;
}

class ValueParser {
  i = 0;
  constructor(readonly s: string, readonly text: string) {}

  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }

  quoted(): string {
    const q = this.s[this.i]!;
    let out = '';
    this.i++;
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '\\' && this.i + 1 < this.s.length) {
        out += this.s[this.i + 1];
        this.i += 2;
        continue;
      }
      if (c === q) {
        this.i++;
        return out;
      }
      out += c;
      this.i++;
    }
    throw bad(this.text, `unterminated ${q}quoted${q} string`);
  }

  /** One element; stops before a top-level `,`, `]`, `}` (or `:` inside dicts when `inDictKey`). */
  element(inDictKey = false): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === '[') {
      this.i++;
      const out: unknown[] = [];
      this.ws();
      if (this.s[this.i] === ']') {
        this.i++;
        return out;
      }
      for (;;) {
        out.push(this.element());
        this.ws();
        const d = this.s[this.i];
        if (d === ',') {
          this.i++;
          continue;
        }
        if (d === ']') {
          this.i++;
          return out;
        }
        throw bad(this.text, `expected ',' or ']' in a list at character ${this.i + 1}`);
      }
    }
    if (c === '{') {
      this.i++;
      const out: Record<string, unknown> = {};
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return out;
      }
      for (;;) {
        const k = this.element(true);
        this.ws();
        if (this.s[this.i] !== ':') throw bad(this.text, `expected ':' after a dict key at character ${this.i + 1}`);
        this.i++;
        out[String(k)] = this.element();
        this.ws();
        const d = this.s[this.i];
        if (d === ',') {
          this.i++;
          continue;
        }
        if (d === '}') {
          this.i++;
          return out;
        }
        throw bad(this.text, `expected ',' or '}' in a dict at character ${this.i + 1}`);
      }
    }
    if (c === "'" || c === '"') {
      const v = this.quoted();
      this.ws();
      return v;
    }
    const start = this.i;
    let depth = 0;
    while (this.i < this.s.length) {
      const d = this.s[this.i]!;
      if (d === '$' && this.s[this.i + 1] === '{') depth++;
      else if (d === '}' && depth > 0) depth--;
      else if (depth === 0 && (d === ',' || d === ']' || d === '}' || (inDictKey && d === ':'))) break;
      else if (depth === 0 && (d === '[' || d === '{')) throw bad(this.text, `unexpected '${d}' at character ${this.i + 1}; quote the value`);
      this.i++;
    }
    const raw = this.s.slice(start, this.i).trim();
    if (raw === '') throw bad(this.text, `empty element at character ${start + 1}`);
    return parsePrimitive(raw);
  }
}

/** Splits at top-level commas (outside brackets, braces, quotes and `${...}`). */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '[' || c === '{' || c === '(') depth++;
    else if (c === ']' || c === '}' || c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(s.slice(start).trim());
  return parts;
}

/** Parses one value (not a sweep). `''` is the empty string, as `key=` is in Hydra. */
export function parseValue(raw: string, text = raw): unknown {
  const t = raw.trim();
  if (t === '') return '';
  const p = new ValueParser(t, text);
  const v = p.element();
  p.ws();
  if (p.i !== t.length) throw bad(text, `unexpected '${t.slice(p.i)}' after the value`);
  return v;
}

function fmtNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)));
}

function sweepChoices(value: string, text: string): string[] | undefined {
  const fn = /^(\w+)\s*\(([\s\S]*)\)$/.exec(value);
  if (fn) {
    const [, name, args] = fn;
    const parts = args!.trim() === '' ? [] : splitTopLevel(args!);
    if (name === 'choice') {
      if (parts.length === 0) throw bad(text, 'choice() needs at least one value');
      return parts;
    }
    if (name === 'range') {
      const nums = parts.map((p) => Number(p));
      if (nums.length < 1 || nums.length > 3 || nums.some((n) => !Number.isFinite(n))) {
        throw bad(text, 'range() takes 1 to 3 numbers: range(stop), range(start, stop) or range(start, stop, step)');
      }
      const [start, stop, step] = nums.length === 1 ? [0, nums[0]!, 1] : [nums[0]!, nums[1]!, nums[2] ?? 1];
      if (step === 0) throw bad(text, 'range() step must not be 0');
      const out: string[] = [];
      for (let k = 0; ; k++) {
        const v = start + k * step;
        if ((step > 0 && v >= stop) || (step < 0 && v <= stop)) break;
        out.push(fmtNumber(v));
        if (out.length > 100000) throw bad(text, 'range() is too long');
      }
      return out;
    }
    if (['glob', 'interval', 'shuffle', 'sort', 'tag'].includes(name!)) {
      throw bad(text, `the sweep function ${name}() is not supported; use a,b,c, choice(a,b,c) or range(start,stop,step)`);
    }
    return undefined;
  }
  const parts = splitTopLevel(value);
  return parts.length > 1 ? parts : undefined;
}

/** Parses an override: `a.b=v`, `+a.b=v`, `++a.b=v`, `~a.b`, `~a.b=v`, with sweeps recognised (not expanded). */
export function parseOverride(input: string): ParsedOverride {
  const text = input.trim();
  let op: ParsedOverride['op'] = 'set';
  let rest = text;
  if (rest.startsWith('++')) {
    op = 'force';
    rest = rest.slice(2);
  } else if (rest.startsWith('+')) {
    op = 'add';
    rest = rest.slice(1);
  } else if (rest.startsWith('~')) {
    op = 'delete';
    rest = rest.slice(1);
  }
  const eq = rest.indexOf('=');
  const key = (eq < 0 ? rest : rest.slice(0, eq)).trim();
  if (!KEY_RE.test(key) && !GROUP_KEY_RE.test(key)) {
    throw bad(text, `'${key}' is not a key; keys look like dl.lr or model.pret.name`);
  }
  if (eq < 0) {
    if (op !== 'delete') throw bad(text, `expected ${op === 'set' ? '' : op === 'add' ? '+' : '++'}key=value`);
    return { text, op, key };
  }
  const valueText = rest.slice(eq + 1);
  const sweep = sweepChoices(valueText.trim(), text);
  if (sweep) {
    if (op === 'delete') throw bad(text, 'a deletion cannot sweep');
    return { text, op, key, sweep, value: { value: undefined, raw: valueText.trim() } };
  }
  return { text, op, key, value: { value: parseValue(valueText, text), raw: valueText.trim() } };
}

/**
 * Most runs a sweep may expand to unless asked for more (`maxRuns`, the CLI's `--max-runs N`): 10,000 runs is far
 * beyond any sweep of the paper (the largest grid has tens of points), and every run's config is resolved and held
 * before the first starts, so 10^8 combinations took 4.2 GB before failing.
 */
export const MAX_RUNS = 10_000;

/** The number of runs `overrides` sweep to (the product of each override's choices), without expanding them. */
export function countSweeps(overrides: readonly string[]): { runs: number; factors: { key: string; choices: number }[] } {
  const factors = overrides.map((o) => parseOverride(o)).filter((p) => p.sweep).map((p) => ({ key: p.key, choices: p.sweep!.length }));
  return { runs: factors.reduce((a, f) => a * f.choices, 1), factors };
}

/**
 * Expands comma sweeps into the cartesian product of runs, in Hydra's order (the first override varies slowest):
 * `['dl.lr=0.1,0.15', 'main.dataset_subset=10p,4p']` → 4 override lists. Overrides without sweeps appear in every run.
 * The product is counted first: more than `maxRuns` (default {@link MAX_RUNS}) throws `SMN_CONFIG_TOO_MANY_RUNS`
 * (kind 'usage') saying how many there are and how to allow them, before anything is expanded.
 */
export function expandSweeps(overrides: readonly string[], opts: { maxRuns?: number } = {}): string[][] {
  const maxRuns = opts.maxRuns ?? MAX_RUNS;
  const { runs: count, factors } = countSweeps(overrides);
  if (count > maxRuns) {
    const product = factors.map((f) => `${f.key}: ${f.choices}`).join(' × ');
    throw new SmnError(
      TrainErrorCode.ConfigTooManyRuns,
      `the sweep has ${count.toLocaleString('en-US')} combinations (${product}); at most ${maxRuns.toLocaleString('en-US')} run unless asked: ` +
        `pass --max-runs ${count} (maxRuns in the API) to run them all, or sweep fewer values`,
      { kind: 'usage', details: { runs: count, limit: maxRuns, factors } },
    );
  }
  let runs: string[][] = [[]];
  for (const o of overrides) {
    const p = parseOverride(o);
    const prefix = p.op === 'add' ? '+' : p.op === 'force' ? '++' : '';
    const choices = p.sweep ? p.sweep.map((c) => `${prefix}${p.key}=${c}`) : [p.text];
    const next: string[][] = [];
    for (const r of runs) for (const c of choices) next.push([...r, c]);
    runs = next;
  }
  return runs;
}

/** The command-line arguments Hydra itself reads, split from the overrides. */
export interface HydraArgs {
  configName?: string;
  configDirs: string[];
  multirun: boolean;
  overrides: string[];
  /** Other `--flags` (and their values when given as `--flag=value`), left for the command. */
  rest: string[];
}

/**
 * Splits `--config-name X` / `--config-name=X` / `-cn X`, `--config-dir D` / `-cd D`, `--multirun` / `-m` and the
 * overrides (arguments with `=` that are not flags, and `~key` deletions) out of argv. Everything else (other
 * flags and their values) goes to `rest` in order, for the command to parse. The smn CLI does not use it (each
 * command declares these flags with its others); it is for programs that read a reference command line themselves.
 */
export function parseHydraArgs(argv: readonly string[]): HydraArgs {
  const out: HydraArgs = { configDirs: [], multirun: false, overrides: [], rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const take = (flag: string): string => {
      if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) {
        throw new SmnError(TrainErrorCode.Usage, `${flag} needs a value`, { kind: 'usage' });
      }
      return v;
    };
    if (a === '--config-name' || a.startsWith('--config-name=') || a === '-cn') out.configName = take(a === '-cn' ? '-cn' : '--config-name');
    else if (a === '--config-dir' || a.startsWith('--config-dir=') || a === '-cd') out.configDirs.push(take(a === '-cd' ? '-cd' : '--config-dir'));
    else if (a === '--multirun' || a === '-m') out.multirun = true;
    else if (a.startsWith('~') || (!a.startsWith('-') && a.includes('='))) out.overrides.push(a);
    else out.rest.push(a);
  }
  return out;
}
