#!/usr/bin/env node
// Launcher for the operator CLI (cli/rotator.ts): registers tsx's loader so the TypeScript
// sources run as they are, from a fresh clone after `npm ci`, with no build step.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every start under Node 20 that releases after January 2027 need
// Node 22; the project supports Node 20 (package.json engines), and an operator tool should
// not print that on every command. The SDK's own switch; an explicit setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../cli/rotator.ts');
process.exitCode = await main(process.argv.slice(2));
