// fetchFile in a process of its own (the tests kill it or run two at once). argv: name [barrier file]. Prints JSON
// lines: {ready}, then {progress} while downloading, then {path} or {error, message}.
import { existsSync } from 'node:fs';
import { fetchFile } from '../src/index.js';

const [name, barrier] = process.argv.slice(2);
console.log(JSON.stringify({ ready: true }));
while (barrier && !existsSync(barrier)) await new Promise((r) => setTimeout(r, 5));
try {
  const path = await fetchFile(name!, { onProgress: (p) => console.log(JSON.stringify({ progress: p.bytes })) });
  console.log(JSON.stringify({ path }));
} catch (err) {
  console.log(JSON.stringify({ error: (err as { code?: string }).code, message: (err as Error).message }));
}
