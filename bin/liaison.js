#!/usr/bin/env node
// The `liaison` command: runs the TypeScript sources through tsx, so the CLI needs no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src-server/cli.ts');
await runCli(process.argv);
