#!/usr/bin/env node
// Launcher for the operator CLI (cli/rotator.ts): registers tsx's loader so the TypeScript
// sources run as they are, from a fresh clone after `npm ci`, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/rotator.ts');
process.exitCode = await main(process.argv.slice(2));
