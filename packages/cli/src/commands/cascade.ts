import { SmnError } from '@smn/core';
import type { Command } from '../command.js';

// Placeholder until the command lands; its owner replaces this file.
const command: Command = {
  name: 'cascade',
  summary: '',
  help: 'Usage: smn cascade (not available yet)',
  async run() {
    throw new SmnError('SMN_NOT_IMPLEMENTED', "'smn cascade' is not available in this build yet");
  },
};
export default command;
