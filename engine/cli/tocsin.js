#!/usr/bin/env node
// The `tocsin` command. Tocsin is written in TypeScript and runs from source: tsx
// compiles each module on load (no build step between editing and running).
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
