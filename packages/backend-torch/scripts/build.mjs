#!/usr/bin/env node
// Builds the libtorch addon (build/Release/smn_torch.node) with node-gyp.
// libtorch is looked up in this order:
//   1. LIBTORCH=<folder>      a libtorch distribution (include/, lib/)
//   2. LIBTORCH_PY=<python>   a Python whose `torch` package provides headers and libraries (e.g. a CUDA wheel)
//   3. Debian's libtorch-dev  (/usr/include/torch, -ltorch -ltorch_cpu -lc10)
// (an explicit LIBTORCH / LIBTORCH_PY that does not work is reported rather than replaced by Debian's)
// When none is found it prints why and exits 0, building nothing, so `pnpm install` never fails.
// SMN_TORCH_SKIP_BUILD=1 skips the build. NODEDIR (or npm_config_nodedir) points node-gyp at Node's headers;
// by default /usr (Debian's nodejs-dev layout) is used when /usr/include/node/node_api.h exists.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const say = (msg) => console.log(`[@smn/backend-torch] ${msg}`);

function fromFolder(root) {
  const inc = [join(root, 'include'), join(root, 'include', 'torch', 'csrc', 'api', 'include')];
  const lib = join(root, 'lib');
  if (!existsSync(join(inc[0], 'ATen', 'ATen.h'))) return { why: `LIBTORCH=${root} has no include/ATen/ATen.h` };
  return { inc, libDirs: [lib], cuda: hasCuda(lib), abi: guessAbi(root), version: readVersion(inc) };
}

function fromPython(py) {
  const code = [
    'import json, os, torch',
    'try:',
    '    from torch.utils import cpp_extension as ce',
    '    inc = ce.include_paths(); lib = ce.library_paths()',
    'except Exception:',
    '    base = os.path.dirname(torch.__file__)',
    "    inc = [os.path.join(base, 'include'), os.path.join(base, 'include', 'torch', 'csrc', 'api', 'include')]",
    "    lib = [os.path.join(base, 'lib')]",
    "print(json.dumps({'inc': inc, 'lib': lib, 'abi': int(torch._C._GLIBCXX_USE_CXX11_ABI),",
    "  'version': torch.__version__, 'cuda': torch.version.cuda is not None}))",
  ].join('\n');
  try {
    const out = JSON.parse(execFileSync(py, ['-c', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    const libDirs = out.lib.filter((d) => existsSync(join(d, 'libtorch.so')) || existsSync(join(d, 'libtorch_cpu.so')));
    return { inc: out.inc, libDirs: libDirs.length ? libDirs : out.lib, cuda: out.cuda, abi: out.abi, version: out.version };
  } catch (err) {
    return { why: `LIBTORCH_PY=${py} could not report torch's paths: ${String(err.stderr || err.message).trim().split('\n').pop()}` };
  }
}

function fromDebian() {
  if (!existsSync('/usr/include/torch/csrc/api/include/torch/torch.h')) return { why: 'no /usr/include/torch (Debian libtorch-dev)' };
  const inc = ['/usr/include', '/usr/include/torch/csrc/api/include'];
  return { inc, libDirs: [], cuda: false, abi: 1, version: readVersion(inc), system: true };
}

function hasCuda(lib) {
  try {
    return readdirSync(lib).some((f) => f.startsWith('libtorch_cuda'));
  } catch {
    return false;
  }
}

function guessAbi(root) {
  // libtorch zips name the ABI in their folder name only; default to the new ABI (current wheels and Debian).
  return /pre-cxx11|cxx11-abi-0/.test(root) ? 0 : 1;
}

function readVersion(incs) {
  for (const d of incs) {
    const f = join(d, 'torch', 'version.h');
    if (existsSync(f)) {
      const m = /TORCH_VERSION_MAJOR (\d+)[\s\S]*TORCH_VERSION_MINOR (\d+)[\s\S]*TORCH_VERSION_PATCH (\d+)/.exec(
        readFileSync(f, 'utf8'),
      );
      if (m) return `${m[1]}.${m[2]}.${m[3]}`;
    }
  }
  return 'unknown';
}

function sourceTimes() {
  const files = ['binding.gyp', 'scripts/build.mjs', ...readdirSync(join(pkgDir, 'native')).map((f) => `native/${f}`)];
  return Object.fromEntries(files.map((f) => [f, statSync(join(pkgDir, f)).mtimeMs]));
}

function main() {
  if (process.env.SMN_TORCH_SKIP_BUILD === '1') {
    say('SMN_TORCH_SKIP_BUILD=1: not building the libtorch addon.');
    return;
  }
  // An explicit LIBTORCH / LIBTORCH_PY that does not work is reported, not silently replaced by another libtorch.
  let found;
  const explicit = process.env.LIBTORCH ? fromFolder(process.env.LIBTORCH) : process.env.LIBTORCH_PY ? fromPython(process.env.LIBTORCH_PY) : null;
  if (explicit) found = explicit;
  else found = fromDebian();
  if (found.why) {
    say(`libtorch not found, building nothing (the 'torch' backend stays unavailable): ${found.why}.`);
    say('Install libtorch-dev (Debian) or set LIBTORCH / LIBTORCH_PY, then run `npm rebuild @smn/backend-torch` (pnpm: `pnpm rebuild @smn/backend-torch`).');
    return;
  }
  const major = Number(String(found.version).split('.')[0]);
  const minor = Number(String(found.version).split('.')[1]);
  const std = major > 2 || (major === 2 && minor >= 12) ? 'c++20' : 'c++17';
  const libs = ['-ltorch', '-ltorch_cpu', '-lc10'];
  const ldflags = [];
  for (const d of found.libDirs) ldflags.push(`-L${d}`, `-Wl,-rpath,${d}`);
  if (found.cuda) libs.push('-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed');
  const env = {
    ...process.env,
    SMN_TORCH_INCLUDES: found.inc.join(' '),
    SMN_TORCH_LIBS: libs.join(' '),
    SMN_TORCH_LDFLAGS: ldflags.join(' '),
    SMN_TORCH_ABI: String(found.abi),
    SMN_TORCH_STD: std,
    SMN_TORCH_VERSION: String(found.version),
  };
  const stampFile = join(pkgDir, 'build', 'smn-torch-build.json');
  const stamp = JSON.stringify({ ...found, std, libs, ldflags, node: process.version, sources: sourceTimes() });
  const addon = join(pkgDir, 'build', 'Release', 'smn_torch.node');
  if (process.env.SMN_TORCH_FORCE_BUILD !== '1' && existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
    say('addon is up to date (SMN_TORCH_FORCE_BUILD=1 rebuilds it).');
    return;
  }
  const args = [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', `--jobs=${process.env.SMN_TORCH_JOBS ?? 2}`];
  const nodedir = process.env.NODEDIR || process.env.npm_config_nodedir || (existsSync('/usr/include/node/node_api.h') ? '/usr' : '');
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  say(`building against libtorch ${found.version} (${found.cuda ? 'CUDA' : 'CPU'}; ABI ${found.abi}; ${std}); include ${found.inc[0]}`);
  const r = spawnSync(process.execPath, args, { cwd: pkgDir, env, stdio: 'inherit' });
  if (r.status !== 0) {
    say(`node-gyp failed (exit ${r.status}); the 'torch' backend stays unavailable. Fix the error above and run \`npm rebuild @smn/backend-torch\` (or pnpm rebuild).`);
    if (process.env.SMN_TORCH_REQUIRE_BUILD === '1') process.exit(r.status ?? 1);
    return;
  }
  writeFileSync(stampFile, stamp);
  say('built build/Release/smn_torch.node');
}

main();
