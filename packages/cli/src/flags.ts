import { SmnError } from '@smn/core';
import { CliErrorCode } from './errors.js';

/**
 * Declarative command-line flags (in the spirit of citty's `args`): a command declares its flags, subcommands and
 * positionals once; `parseFlags` reads argv against the declaration and `renderHelp` / `renderUsage` print it, so
 * the help cannot drift from what is parsed. Every mistake is an `SmnError` with kind 'usage' (exit 2).
 */

export interface FlagDef {
  type: 'string' | 'boolean' | 'number';
  /** Help text; lines after the first are indented under it. */
  description: string;
  /** Placeholder in the help (`--run-dir DIR`); default `N` for numbers, `VALUE` for strings. */
  value?: string;
  /** Used when the flag is absent (and shown in the help). Booleans default to false. */
  default?: string | number;
  /** What the help shows as the default when it is computed at run time (`runs/<time>-<config>`). */
  defaultText?: string;
  /** The flag may repeat; its value is the list of every occurrence. */
  multiple?: boolean;
  /** Other spellings, e.g. `-m`, `-cn` (Hydra's short flags). */
  aliases?: readonly string[];
  /** The only values a string flag accepts. */
  choices?: readonly string[];
  /** Numbers: whole numbers only. */
  integer?: boolean;
  /** Numbers: inclusive lower bound. */
  min?: number;
  /** Numbers: exclusive lower bound (`above: 0` is "a number > 0"). */
  above?: number;
  /** Heading the flag is listed under in the help (default `Options`). */
  group?: string;
}

export interface PositionalDef {
  /** Placeholder in messages and the help (`FILE`). */
  name: string;
  description: string;
  required?: boolean;
}

export interface CommandSpec {
  /** The command's name as typed after `smn` (used in messages: `smn train`). */
  name: string;
  /** Synopsis lines after `Usage: `, each starting with `smn <name>`. */
  usage: readonly string[];
  /** Free text between the synopsis and the lists. */
  description?: string;
  /** Subcommand name -> one line; the first positional must be one of them. */
  subcommands?: Readonly<Record<string, string>>;
  /** Positionals after the subcommand, in order. */
  positionals?: readonly PositionalDef[];
  /** Collect Hydra overrides (`key=value`, `+key=value`, `++key=value`, `~key`) apart from the positionals. */
  overrides?: boolean;
  flags: Readonly<Record<string, FlagDef>>;
  /** Free-text sections after the flags (`Examples`, ...); an empty title prints the text alone. */
  sections?: readonly { title: string; text: string }[];
}

type Scalar<F extends FlagDef> = F['type'] extends 'boolean'
  ? boolean
  : F['type'] extends 'number'
    ? number
    : F extends { choices: readonly (infer C extends string)[] }
      ? C
      : string;

/** The parsed value of each declared flag: lists for `multiple`, never undefined for booleans or with a default. */
export type FlagValues<Flags extends Readonly<Record<string, FlagDef>>> = {
  -readonly [K in keyof Flags]: Flags[K] extends { multiple: true }
    ? Scalar<Flags[K]>[]
    : Flags[K] extends { type: 'boolean' } | { default: string | number }
      ? Scalar<Flags[K]>
      : Scalar<Flags[K]> | undefined;
};

export interface ParsedArgs<S extends CommandSpec> {
  flags: FlagValues<S['flags']>;
  /** The subcommand, when the spec declares subcommands. */
  subcommand: S['subcommands'] extends Readonly<Record<string, string>> ? keyof S['subcommands'] & string : undefined;
  /** Positionals after the subcommand, in the order given. */
  positionals: string[];
  /** Hydra overrides in the order given (only with `overrides: true`). */
  overrides: string[];
}

/** Keeps the literal types of a declaration, so that `parseFlags` returns precisely typed values. */
export function defineSpec<const S extends CommandSpec>(spec: S): S {
  return spec;
}

/** An `SMN_USAGE` error (exit 2); the CLI prints the command's usage after it. */
export function usageError(message: string): SmnError {
  return new SmnError(CliErrorCode.Usage, message, { kind: 'usage' });
}

const isOverride = (a: string): boolean => a.startsWith('~') || (!a.startsWith('-') && a.includes('='));

/** Reads argv against the declaration; throws a usage error naming the flag for anything it does not declare. */
export function parseFlags<S extends CommandSpec>(spec: S, argv: readonly string[]): ParsedArgs<S> {
  const byName = flagIndex(spec);
  const values: Record<string, unknown> = {};
  const free: string[] = [];
  const overrides: string[] = [];
  let terminated = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      terminated = true;
      continue;
    }
    if (terminated || !a.startsWith('-') || a === '-') {
      if (spec.overrides && isOverride(a)) overrides.push(a);
      else free.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const given = eq > 0 ? a.slice(0, eq) : a;
    const found = byName.get(given);
    if (!found) throw usageError(unknownFlag(spec, given));
    const [name, def] = found;
    let raw: string | undefined = eq > 0 ? a.slice(eq + 1) : undefined;
    if (def.type === 'boolean') {
      if (raw !== undefined) throw usageError(`${given} is a switch and takes no value, found '${a}'; drop '=${raw}'`);
    } else if (raw === undefined) {
      const next = argv[i + 1];
      // As Hydra reads `-cn X`: the next word is the value unless it is a flag (`--x` or one of this command's).
      if (next === undefined || next.startsWith('--') || byName.has(next)) {
        throw usageError(`${given} needs a value (${given} ${placeholder(def)})${next === undefined ? '' : `, found the flag '${next}'; write ${given}=${next} for a value that starts with '-'`}`);
      }
      raw = next;
      i++;
    }
    const value = def.type === 'boolean' ? true : convert(given, def, raw!);
    if (def.multiple) ((values[name] ??= []) as unknown[]).push(value);
    else values[name] = value;
  }
  for (const [name, def] of Object.entries(spec.flags)) {
    if (values[name] !== undefined) continue;
    if (def.multiple) values[name] = [];
    else if (def.type === 'boolean') values[name] = false;
    else if (def.default !== undefined) values[name] = def.default;
  }
  const { subcommand, positionals } = splitPositionals(spec, free);
  return { flags: values, subcommand, positionals, overrides } as ParsedArgs<S>;
}

function flagIndex(spec: CommandSpec): Map<string, [string, FlagDef]> {
  const m = new Map<string, [string, FlagDef]>();
  for (const [name, def] of Object.entries(spec.flags)) {
    m.set(`--${name}`, [name, def]);
    for (const alias of def.aliases ?? []) m.set(alias, [name, def]);
  }
  return m;
}

function unknownFlag(spec: CommandSpec, given: string): string {
  const names = Object.keys(spec.flags).map((n) => `--${n}`);
  const near = names.filter((n) => editDistance(n, given) <= 2 || (given.length > 3 && n.startsWith(given)));
  return `unknown flag '${given}' for smn ${spec.name}${near.length ? `; did you mean ${near.join(' or ')}?` : ''}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

function placeholder(def: FlagDef): string {
  return def.value ?? (def.type === 'number' ? 'N' : 'VALUE');
}

/** "an integer ≥ 0", "a number > 0", "one of gmm, kmeans": what a flag accepts, for messages. */
function expected(def: FlagDef): string {
  if (def.choices) return `one of ${def.choices.join(', ')}`;
  if (def.type !== 'number') return 'a value';
  const bounds = [def.min !== undefined ? `≥ ${def.min}` : '', def.above !== undefined ? `> ${def.above}` : ''].filter(Boolean).join(' and ');
  return `${def.integer ? 'an integer' : 'a number'}${bounds ? ` ${bounds}` : ''}`;
}

function convert(flag: string, def: FlagDef, raw: string): string | number {
  const bad = () => usageError(`${flag} expects ${expected(def)}, got '${raw}'`);
  if (def.type === 'string') {
    if (def.choices && !def.choices.includes(raw)) throw bad();
    return raw;
  }
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(n) || (def.integer && !Number.isInteger(n))) throw bad();
  if ((def.min !== undefined && n < def.min) || (def.above !== undefined && n <= def.above)) throw bad();
  return n;
}

function splitPositionals(spec: CommandSpec, free: string[]): { subcommand: string | undefined; positionals: string[] } {
  let rest = free;
  let subcommand: string | undefined;
  if (spec.subcommands) {
    const subs = Object.keys(spec.subcommands).map((s) => `'${s}'`).join(' or ');
    const [first] = free;
    if (first === undefined) throw usageError(`smn ${spec.name} needs a subcommand: ${subs}`);
    if (!Object.hasOwn(spec.subcommands, first)) throw usageError(`unknown subcommand '${first}' for smn ${spec.name}; expected ${subs}`);
    subcommand = first;
    rest = free.slice(1);
  }
  const declared = spec.positionals ?? [];
  if (rest.length > declared.length) {
    const extra = rest[declared.length]!;
    throw usageError(`unexpected argument '${extra}'${spec.overrides ? ': overrides look like key=value' : ''}`);
  }
  const missing = declared.slice(rest.length).find((p) => p.required);
  if (missing) throw usageError(`smn ${spec.name}${subcommand ? ` ${subcommand}` : ''} needs ${missing.name}`);
  return { subcommand, positionals: rest };
}

// ---- help ----

function flagColumn(name: string, def: FlagDef): string {
  return def.type === 'boolean' ? `--${name}` : `--${name} ${placeholder(def)}`;
}

/** "(default 1; also --config-name=NAME, -cn NAME)": a flag with other spellings lists every one. */
function flagNotes(name: string, def: FlagDef): string {
  const notes: string[] = [];
  const dflt = def.defaultText ?? (def.default !== undefined ? String(def.default) : undefined);
  if (dflt !== undefined) notes.push(`default ${dflt}`);
  if (def.aliases?.length) {
    const v = placeholder(def);
    notes.push(`also ${def.type === 'boolean' ? def.aliases.join(', ') : [`--${name}=${v}`, ...def.aliases.map((a) => `${a} ${v}`)].join(', ')}`);
  }
  return notes.length ? `(${notes.join('; ')})` : '';
}

const HELP_WIDTH = 118;

type Row = { col: string; text: string; notes?: string };

/** Lists rows under a heading, descriptions aligned after the widest column; notes that overflow get their own line. */
function block(title: string, rows: Row[], width: number): string {
  const pad = ' '.repeat(width + 4);
  const lines = rows.map(({ col, text, notes }) => {
    const body = text.split('\n');
    if (notes) {
      const last = body.length - 1;
      if (pad.length + body[last]!.length + 1 + notes.length <= HELP_WIDTH) body[last] += ` ${notes}`;
      else body.push(notes);
    }
    return `  ${col.padEnd(width)}  ${body.join(`\n${pad}`)}`;
  });
  return `${title}:\n${lines.join('\n')}`;
}

/** Subcommands, positionals and flag groups, aligned on one column. */
function lists(spec: CommandSpec): string[] {
  const groups = new Map<string, Row[]>();
  const add = (group: string, row: Row) => groups.set(group, [...(groups.get(group) ?? []), row]);
  for (const [sub, text] of Object.entries(spec.subcommands ?? {})) add('Subcommands', { col: sub, text });
  for (const p of spec.positionals ?? []) add('Arguments', { col: p.name, text: p.description });
  for (const [name, def] of Object.entries(spec.flags)) add(def.group ?? 'Options', { col: flagColumn(name, def), text: def.description, notes: flagNotes(name, def) });
  const width = Math.max(0, ...[...groups.values()].flat().map((r) => r.col.length));
  return [...groups].map(([title, rows]) => block(title, rows, width));
}

function synopsis(spec: CommandSpec): string {
  return spec.usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}${u}`).join('\n');
}

/** The full `smn <name> --help` text. */
export function renderHelp(spec: CommandSpec): string {
  const parts = [synopsis(spec), ...(spec.description ? [spec.description.trim()] : []), ...lists(spec)];
  for (const s of spec.sections ?? []) parts.push(s.title ? `${s.title}:\n${s.text.trimEnd()}` : s.text.trim());
  return parts.join('\n\n');
}

/** The synopsis and the lists, printed after a usage error. */
export function renderUsage(spec: CommandSpec): string {
  return [synopsis(spec), ...lists(spec), `Run 'smn ${spec.name} --help' for the full help.`].join('\n\n');
}
