// Entry of a `local` child run from the TypeScript sources (inside the repository): installs tsx's loader, then
// starts the child. From dist/, point-child.js runs directly (docs/decisions.md: the @smn/source condition).
import { register } from 'tsx/esm/api';

register();
await import('./point-child.ts');
