#!/usr/bin/env node
// Generates generated/ from proto/: TypeScript through ts-proto (buf.gen.yaml) and the
// FileDescriptorSet the gRPC reflection service answers from. With --check, generates into a
// temporary folder and fails when generated/ differs from it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const buf = join(root, 'node_modules/.bin/buf');

function generate(base) {
  rmSync(join(base, 'generated'), { recursive: true, force: true });
  execFileSync(buf, ['generate', '--output', base], { cwd: root, stdio: 'inherit' });
  execFileSync(buf, ['build', '--output', join(base, 'generated/descriptors.binpb')], {
    cwd: root,
    stdio: 'inherit',
  });
}

function listFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

if (process.argv.includes('--check')) {
  const scratch = mkdtempSync(join(tmpdir(), 'orderflow-gen-'));
  try {
    generate(scratch);
    const fresh = join(scratch, 'generated');
    const current = join(root, 'generated');
    const names = (dir) => listFiles(dir).map((f) => relative(dir, f)).sort();
    const a = names(fresh);
    const b = names(current);
    const differing = [...new Set([...a, ...b])].filter((name) => {
      if (!a.includes(name) || !b.includes(name)) return true;
      return !readFileSync(join(fresh, name)).equals(readFileSync(join(current, name)));
    });
    if (differing.length > 0) {
      console.error(`generated/ is stale; run \`npm run gen\`. Differing files:\n  ${differing.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`generated/ is current (${a.length} files)`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
} else {
  generate(root);
  console.log(`generated ${listFiles(join(root, 'generated')).length} files into generated/`);
}
