import { SmnError } from '@smn/core';
import type { Command } from '../command.js';

// Placeholder until the command lands; its owner replaces this file.
const command: Command = {
  name: 'features',
  summary: '',
  help: 'Usage: smn features (not available yet)',
  async run() {
    throw new SmnError('SMN_NOT_IMPLEMENTED', "'smn features' is not available in this build yet");
  },
};
export default command;
