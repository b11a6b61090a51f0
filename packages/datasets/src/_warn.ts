/**
 * Warnings: problems that do not stop loading (skipped files, a capped worker count). A caller that passes
 * `onWarning` gets them; otherwise they become Node process warnings (printed on stderr by Node, catchable with
 * `process.on('warning')`), each distinct one once per process, since loaders are made again every epoch.
 */
import type { DatasetWarning } from './types.js';

const emitted = new Set<string>();

export function warn(w: DatasetWarning, onWarning?: (w: DatasetWarning) => void): void {
  if (onWarning) {
    onWarning(w);
    return;
  }
  const key = `${w.code}\u0000${w.message}`;
  if (emitted.has(key)) return;
  emitted.add(key);
  process.emitWarning(w.message, { type: 'SmnWarning', code: w.code });
}
