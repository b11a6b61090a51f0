// Worker entry: installs tsx's loader so the TypeScript sources of this package load in the thread, then starts it.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
