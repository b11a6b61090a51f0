import { Document, parseDocument, visit } from 'yaml';
import { SmnError } from '@smn/core';
import type { SmnConfig } from './schema.js';
import { TrainErrorCode } from '../errors.js';

/**
 * A resolved config as YAML (the run folder's config.yaml; `smn config show`): sections in schema order, lists in
 * flow style (`train_layers: [conv, downsample]`). {@link configFromYaml} reads it back.
 */
export function configToYaml(config: SmnConfig): string {
  const doc = new Document(config);
  visit(doc, {
    Seq(_key, node) {
      node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

/**
 * Alias expansions (`*name`) a config file may make, the yaml package's own default, now stated. Configs need none;
 * a list of aliases to lists of aliases multiplies at every level, so a file of a few hundred bytes (an alias bomb,
 * "billion laughs") would expand to gigabytes.
 */
export const MAX_YAML_ALIASES = 100;

/**
 * Parses one YAML document to plain values. Syntax errors, duplicate keys and an alias bomb (more than
 * {@link MAX_YAML_ALIASES} expansions) are `SMN_CONFIG_PARSE` (kind 'usage') naming `name`, the file as messages
 * show it; `file` goes to the details.
 */
export function parseYamlFile(text: string, name: string, file: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    throw new SmnError(TrainErrorCode.ConfigParse, `${name} is not valid YAML:\n${doc.errors.map((e) => `  ${e.message}`).join('\n')}`, {
      kind: 'usage',
      details: { file },
    });
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    const bomb = /alias count/i.test((err as Error).message);
    const why = bomb
      ? `its aliases (*name) expand more than ${MAX_YAML_ALIASES} times over a document this size (an alias bomb would fill memory); write the values out instead of aliasing them`
      : (err as Error).message;
    throw new SmnError(TrainErrorCode.ConfigParse, `${name} cannot be read as YAML: ${why}`, { kind: 'usage', cause: err, details: { file } });
  }
}
