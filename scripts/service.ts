/**
 * `npm run service -- <name>`: runs one service (or the gateway) in this process, configured
 * from the environment (see the README's configuration table).
 */
import { pathToFileURL } from 'node:url';
import { gatewayProcess, mainOf, serviceTable } from './services.js';

const name = process.argv[2];
const processes = [...serviceTable, gatewayProcess];
const usage = () => {
  const known = processes.map((s) => `${s.name}${mainOf(s.name) ? '' : ' (not built yet)'}`).join(', ');
  return `usage: npm run service -- <name>\nservices: ${known}`;
};

if (!name || name === '--help' || name === '-h') {
  process.stderr.write(`${usage()}\n`);
  process.exit(name ? 0 : 2);
}
const main = mainOf(name);
if (!processes.some((s) => s.name === name) || !main) {
  const reason = processes.some((s) => s.name === name) ? 'is not built yet' : 'is not an Orderflow service';
  process.stderr.write(`service "${name}" ${reason}\n${usage()}\n`);
  process.exit(2);
}
await import(pathToFileURL(main).href);
