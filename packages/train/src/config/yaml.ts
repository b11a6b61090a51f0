import { Document, visit } from 'yaml';
import type { SmnConfig } from './schema.js';

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
