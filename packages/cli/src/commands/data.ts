import { SmnError } from '@smn/core';
import type { Command } from '../command.js';

// Placeholder until the command lands; its owner replaces this file.
const command: Command = {
  name: 'data',
  summary: '',
  help: 'Usage: smn data (not available yet)',
  async run() {
    throw new SmnError('SMN_NOT_IMPLEMENTED', "'smn data' is not available in this build yet");
  },
};
export default command;
