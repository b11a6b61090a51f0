import { z } from 'zod';
import { configSchema } from './schema.js';

/** What the schema says about one leaf key. */
export interface KeyInfo {
  /** Dot path, e.g. `dl.lr`. */
  path: string;
  kind: 'string' | 'int' | 'float' | 'bool' | 'enum' | 'list' | 'tuple';
  nullable: boolean;
  /** Enum values (kind 'enum'). */
  values?: readonly (string | number)[];
  /** Element kind of lists/tuples. */
  items?: 'string' | 'int' | 'float';
  description: string;
}

type Json = Record<string, unknown>;

function itemKind(s: Json | undefined): 'string' | 'int' | 'float' {
  const t = s?.type;
  return t === 'integer' ? 'int' : t === 'number' ? 'float' : 'string';
}

function leafInfo(path: string, node: Json): KeyInfo {
  let s = node;
  let nullable = false;
  const anyOf = node.anyOf as Json[] | undefined;
  if (anyOf) {
    const rest = anyOf.filter((x) => x.type !== 'null');
    nullable = rest.length < anyOf.length;
    s = rest[0] ?? {};
  }
  const description = String(node.description ?? s.description ?? '');
  if (Array.isArray(s.enum)) return { path, kind: 'enum', nullable, values: s.enum as (string | number)[], description };
  switch (s.type) {
    case 'integer':
      return { path, kind: 'int', nullable, description };
    case 'number':
      return { path, kind: 'float', nullable, description };
    case 'boolean':
      return { path, kind: 'bool', nullable, description };
    case 'array':
      if (Array.isArray(s.prefixItems)) return { path, kind: 'tuple', nullable, items: itemKind((s.prefixItems as Json[])[0]), description };
      return { path, kind: 'list', nullable, items: itemKind(s.items as Json), description };
    default:
      return { path, kind: 'string', nullable, description };
  }
}

function walk(node: Json, prefix: string, out: Map<string, KeyInfo>, sections: Set<string>): void {
  const props = node.properties as Record<string, Json> | undefined;
  if (node.type === 'object' && props) {
    if (prefix) sections.add(prefix);
    for (const [k, v] of Object.entries(props)) walk(v, prefix ? `${prefix}.${k}` : k, out, sections);
    return;
  }
  out.set(prefix, leafInfo(prefix, node));
}

/** A schema's leaf keys and sections, as the JSON-schema walk finds them. */
interface Catalog {
  keys: Map<string, KeyInfo>;
  sections: Set<string>;
}

// Per schema: the walk runs once (nearestKeys and every validation read it).
const catalogs = new WeakMap<z.ZodType, Catalog>();

function catalog(schema: z.ZodType): Catalog {
  let c = catalogs.get(schema);
  if (!c) {
    c = { keys: new Map(), sections: new Set() };
    walk(z.toJSONSchema(schema) as Json, '', c.keys, c.sections);
    catalogs.set(schema, c);
  }
  return c;
}

/** Every leaf key of a config schema (default: the training config's), in schema order (`main.task`, …, `lp.lambda_scaled`). */
export function configKeys(schema: z.ZodType = configSchema): ReadonlyMap<string, KeyInfo> {
  return catalog(schema).keys;
}

/** Section paths of a config schema (default: the training config's: `main`, `model`, `model.pret`, …). */
export function configSections(schema: z.ZodType = configSchema): ReadonlySet<string> {
  return catalog(schema).sections;
}

/** Human form of a key's type: `int`, `float`, `bool`, `string`, `'a' | 'b'`, `list[string]`, `[float, float]`, `… | null`. */
export function describeType(k: KeyInfo): string {
  let t: string;
  switch (k.kind) {
    case 'enum':
      t = k.values!.map((v) => (v === '' ? "''" : String(v))).join(' \\| ');
      break;
    case 'list':
      t = `list[${k.items}]`;
      break;
    case 'tuple':
      t = `[${k.items}, ${k.items}]`;
      break;
    default:
      t = k.kind;
  }
  return k.nullable ? `${t} \\| null` : t;
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/**
 * The valid keys of a schema (default: the training config's) nearest to `key` (edit distance on the dot path, or
 * on the last part when it names a key of another section, e.g. `main.lr` → `dl.lr`), best first: those within a
 * small distance, else the `count` nearest.
 */
export function nearestKeys(key: string, count = 3, schema: z.ZodType = configSchema): string[] {
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  const scored = [...configKeys(schema).keys(), ...configSections(schema)].map((c) => {
    const cLeaf = c.slice(c.lastIndexOf('.') + 1);
    // A bare name ('lr') matches keys by their last part at no cost; a wrong section costs 2.
    return { c, d: Math.min(levenshtein(key, c), levenshtein(leaf, cLeaf) + (leaf === key ? 0 : 2)) };
  });
  scored.sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  const limit = Math.max(2, Math.floor(key.length / 4));
  const close = scored.filter((s) => s.d <= limit);
  return (close.length ? close : scored).slice(0, count).map((s) => s.c);
}
