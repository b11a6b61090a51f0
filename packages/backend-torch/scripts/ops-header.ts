// Writes native/ops.h, the C++ side of the op-code table in src/ops.ts:
//   pnpm tsx packages/backend-torch/scripts/ops-header.ts
// The header is committed so that installing the package needs no TypeScript; test/ops.test.ts fails when it is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OP_NAMES, type OpGroup } from '../src/ops.js';

const ENUM_NAMES: Record<OpGroup, string> = { dtype: 'DType', unary: 'UnaryOp', binary: 'BinaryOp', reduce: 'ReduceOp' };

export const OPS_HEADER_PATH = fileURLToPath(new URL('../native/ops.h', import.meta.url));

/** The text of native/ops.h: one scoped enum per group, a code being the name's index in src/ops.ts. */
export function opsHeader(): string {
  const groups = (Object.keys(OP_NAMES) as OpGroup[]).map((group) => {
    const names = OP_NAMES[group];
    const members = names.map((n, i) => `  ${n[0]!.toUpperCase()}${n.slice(1)} = ${i},`).join('\n');
    return `enum class ${ENUM_NAMES[group]} : int32_t {\n${members}\n};\nconstexpr int32_t k${ENUM_NAMES[group]}Count = ${names.length};\n`;
  });
  return [
    '// Generated from src/ops.ts by scripts/ops-header.ts; do not edit (test/ops.test.ts checks that it is current).',
    '#pragma once',
    '#include <cstdint>',
    '',
    'namespace smn {',
    '',
    groups.join('\n'),
    '}  // namespace smn',
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(OPS_HEADER_PATH, opsHeader());
  console.log(`wrote ${OPS_HEADER_PATH}`);
}
