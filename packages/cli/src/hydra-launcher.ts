import { LAUNCHERS, type LauncherName } from '@smn/launch';
import { usageError } from './flags.js';

const HYDRA_LAUNCHER = /^\+{0,2}hydra\/launcher=(.*)$/;

/**
 * `hydra/launcher=NAME` (the reference's way of choosing Hydra's launcher) is `--launcher NAME` (smn train, smn
 * cascade): it is taken out of the overrides; a name smn has no launcher for, or one that contradicts `--launcher`, is
 * a usage error (exit 2).
 */
export function withHydraLauncher<F extends { launcher: LauncherName }>(parsed: { flags: F; overrides: string[] }, argv: readonly string[]): { flags: F; overrides: string[] } {
  const { flags, overrides } = parsed;
  const given = overrides.filter((o) => HYDRA_LAUNCHER.test(o));
  if (given.length === 0) return { flags, overrides };
  const name = HYDRA_LAUNCHER.exec(given[given.length - 1]!)![1]!;
  if (!(LAUNCHERS as readonly string[]).includes(name)) {
    const hint = name === 'joblib' ? " (Hydra's joblib launcher runs processes on this machine: that is local)" : '';
    throw usageError(`hydra/launcher=${name}: smn has no launcher '${name}'; expected one of ${LAUNCHERS.join(', ')}${hint}`);
  }
  const explicit = argv.some((a) => a === '--launcher' || a.startsWith('--launcher='));
  if (explicit && flags.launcher !== name) throw usageError(`hydra/launcher=${name} and --launcher ${flags.launcher} name two launchers; give one`);
  return { flags: { ...flags, launcher: name as LauncherName }, overrides: overrides.filter((o) => !HYDRA_LAUNCHER.test(o)) };
}
