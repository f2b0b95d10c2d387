import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { parseFlags, usage } from './flags.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const performance = readme.slice(readme.indexOf('## Performance'), readme.indexOf('\n## ', readme.indexOf('## Performance') + 1));

it("lists every bench flag in the README's flag table", () => {
  const flags = [...usage().matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1]!);
  const table = performance.split('\n').filter((line) => line.startsWith('| `--'));
  expect(flags.filter((flag) => !table.some((row) => row.includes(`\`${flag}\``)))).toEqual([]);
});

it('runs the soak for ten minutes at 50/s, a short one in quick mode, and none at --soak-seconds 0', () => {
  expect(parseFlags([])).toMatchObject({ soakRate: 50, soakSeconds: 600 });
  expect(parseFlags(['--quick'])).toMatchObject({ soakRate: 5, soakSeconds: 10 });
  expect(parseFlags(['--quick', '--soak-seconds', '0'])).toMatchObject({ soakRate: 5, soakSeconds: 0 });
  expect(() => parseFlags(['--soak-rate', '0'])).toThrow('--soak-rate must be at least 1');
});
