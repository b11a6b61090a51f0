#!/usr/bin/env node
import { main } from './main.js';

const code = await main(process.argv.slice(2));
// Some backends (webgpu) keep handles open; exit explicitly once the command is done.
process.exit(code);
