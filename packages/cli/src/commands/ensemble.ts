import { SmnError } from '@smn/core';
import type { Command } from '../command.js';

// Placeholder until the command lands; its owner replaces this file.
const command: Command = {
  name: 'ensemble',
  summary: '',
  help: 'Usage: smn ensemble (not available yet)',
  async run() {
    throw new SmnError('SMN_NOT_IMPLEMENTED', "'smn ensemble' is not available in this build yet");
  },
};
export default command;
