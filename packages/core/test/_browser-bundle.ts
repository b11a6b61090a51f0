import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { build, type Message, type Metafile, type Plugin } from 'esbuild';

// Shared by the browser tests of @smn/core, @smn/subnetworks and @smn/models.

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** A package's browser entry as an app's bundler sees it. */
export interface BrowserBundle {
  /** esbuild's errors and warnings as `file:line: text`; a Node built-in that the graph imports lands here. */
  problems: string[];
  /** Node built-ins imported anywhere in the graph, as `importer -> module`. */
  builtins: string[];
  /** Every module in the bundle, relative to the repository root. */
  inputs: string[];
  /** A classic script that assigns the entry's exports to `smn`. */
  code: string;
}

/**
 * `@smn/*` resolves to the package's `src/browser.ts`, the source of the `dist/browser.js` that the `browser`
 * condition picks for users, or to `src/index.ts` for packages with a single entry. Without this the
 * `@smn/source` condition would send every import to the Node entry.
 */
const smnBrowserSources: Plugin = {
  name: 'smn-browser-sources',
  setup(b) {
    b.onResolve({ filter: /^@smn\/[a-z-]+$/ }, (args) => ({ path: entryOf(args.path.slice('@smn/'.length)) }));
  },
};

function entryOf(pkg: string): string {
  const browser = join(REPO, 'packages', pkg, 'src', 'browser.ts');
  return existsSync(browser) ? browser : join(REPO, 'packages', pkg, 'src', 'index.ts');
}

const fmt = (m: Message): string => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`;

function builtinImports(meta: Metafile): string[] {
  const out: string[] = [];
  for (const [file, input] of Object.entries(meta.inputs)) {
    for (const imp of input.imports) if (BUILTINS.has(imp.path) || imp.path.startsWith('node:')) out.push(`${file} -> ${imp.path}`);
  }
  return out;
}

/**
 * Bundles the browser entry of `packages/<pkg>` (or `entry`, an absolute path), every dependency included, tfjs
 * too, for `platform: 'browser'` with the conditions `@smn/source` and `browser`, as a browser app would. A failed
 * build is returned, not thrown.
 */
export async function bundleBrowserEntry(pkg: string, entry: string = entryOf(pkg)): Promise<BrowserBundle> {
  try {
    const r = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'iife',
      globalName: 'smn',
      conditions: ['@smn/source', 'browser'],
      plugins: [smnBrowserSources],
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: REPO,
    });
    return {
      problems: r.warnings.map(fmt),
      builtins: builtinImports(r.metafile),
      inputs: Object.keys(r.metafile.inputs).map((f) => relative(REPO, join(REPO, f))),
      code: r.outputFiles[0]!.text,
    };
  } catch (err) {
    const e = err as { errors?: Message[]; warnings?: Message[] };
    if (!e.errors) throw err;
    return { problems: [...e.errors, ...(e.warnings ?? [])].map(fmt), builtins: [], inputs: [], code: '' };
  }
}

/**
 * Runs a bundle in a fresh V8 context with a web worker's globals (`self`, TextEncoder, crypto, timers) and none of
 * Node's (process, Buffer, require, global), and returns the entry's exports. Values made inside come from that
 * context's realm: compare them through `Array.from` or `Uint8Array.from`.
 */
export function loadInBrowserContext(bundle: BrowserBundle): Record<string, any> {
  const ctx = vm.createContext({
    TextEncoder,
    TextDecoder,
    crypto: globalThis.crypto,
    console,
    setTimeout,
    clearTimeout,
    queueMicrotask,
    performance,
    URL,
    atob,
    btoa,
  });
  vm.runInContext(`globalThis.self = globalThis;\n${bundle.code}\nglobalThis.smn = smn;`, ctx);
  return (ctx as { smn: Record<string, any> }).smn;
}
