export { main, rootHelp, version } from './main.js';
export type { Command, CommandContext } from './command.js';
export { COMMANDS } from './commands.js';
export { CliErrorCode } from './errors.js';
