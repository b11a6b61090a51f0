import { TrainErrorCode } from '@smn/train';

/**
 * Error codes the CLI itself raises (all `SmnError`s from @smn/core; the libraries' own codes pass through). The
 * `Fs*` and `Parse*` codes are what the error boundary (error-boundary.ts) gives to errors that escape a command.
 */
export const CliErrorCode = {
  /** A flag, argument or combination the command does not accept; the command's usage follows. Usage (exit 2). Owned by @smn/train, which raises it too. */
  Usage: TrainErrorCode.Usage,
  /** `smn train --resume DIR`: DIR holds no run to resume. Usage (exit 2). */
  ResumeNoRun: 'SMN_RESUME_NO_RUN',
  /** The reason a SIGINT/SIGTERM aborts a command's AbortSignal with; the command exits 130. Owned by @smn/train (`TrainErrorCode.Interrupted`). */
  Interrupted: TrainErrorCode.Interrupted,
  /** `smn features`: the input is not images or a float32 NCHW array. Usage (exit 2). */
  FeaturesInput: 'SMN_FEATURES_INPUT',
  /** `smn features --logits` with weights that have no fc head. Usage (exit 2). */
  FeaturesNoHead: 'SMN_FEATURES_NO_HEAD',
  /** `smn ensemble`: the runs or the clustering do not describe the same rows. */
  EnsembleMismatch: 'SMN_ENSEMBLE_MISMATCH',
  /** ENOENT: a path (or its folder) does not exist. Usage (exit 2). */
  FsNotFound: 'SMN_FS_NOT_FOUND',
  /** ENOTDIR, or EEXIST from creating a folder where a file is: a path goes through a file. Usage (exit 2). */
  FsNotADir: 'SMN_FS_NOT_A_DIR',
  /** EISDIR: a folder where a file was expected. Usage (exit 2). */
  FsIsADir: 'SMN_FS_IS_A_DIR',
  /** EEXIST: the path exists and may not be replaced. Usage (exit 2). */
  FsExists: 'SMN_FS_EXISTS',
  /** EACCES, EPERM: permission denied. Runtime (exit 1). */
  FsPermission: 'SMN_FS_PERMISSION',
  /** EROFS: a read-only file system. Runtime (exit 1). */
  FsReadOnly: 'SMN_FS_READ_ONLY',
  /** ENOSPC, EDQUOT: the disk or quota is full. Runtime (exit 1). */
  FsNoSpace: 'SMN_FS_NO_SPACE',
  /** EMFILE, ENFILE: too many open files. Runtime (exit 1). */
  FsTooManyFiles: 'SMN_FS_TOO_MANY_FILES',
  /** A JSON file that does not parse. Runtime (exit 1): such files are written by smn or downloaded. */
  ParseJson: 'SMN_PARSE_JSON',
  /** A YAML file that does not parse (an alias bomb included). Usage (exit 2): YAML files are configs. */
  ParseYaml: 'SMN_PARSE_YAML',
  /** `smn web export`: the built web page is not there and cannot be built (a tarball packed without it). Runtime (exit 1). */
  WebPageMissing: 'SMN_WEB_PAGE_MISSING',
} as const;

export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];
