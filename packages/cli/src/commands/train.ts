import { SmnError } from '@smn/core';
import type { Command } from '../command.js';

// Placeholder until the command lands; its owner replaces this file.
const command: Command = {
  name: 'train',
  summary: '',
  help: 'Usage: smn train (not available yet)',
  async run() {
    throw new SmnError('SMN_NOT_IMPLEMENTED', "'smn train' is not available in this build yet");
  },
};
export default command;
