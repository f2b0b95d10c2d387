/**
 * Preloaded into every process `npm start` runs (`--import ./scripts/watch-parent.ts`): when the
 * parent goes away however it went (SIGKILL, a closed terminal, a crash), the child stops itself
 * with SIGTERM, so it drains as on Ctrl-C instead of holding its ports for the next `npm start`.
 * The parent is watched twice: its IPC channel closing (immediate), and a change of ppid (a
 * fallback for a child started without a channel).
 */
const parent = process.ppid;
let leaving = false;

function parentGone(why: string): void {
  if (leaving) return;
  leaving = true;
  process.stderr.write(`${JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg: `npm start went away (${why}); stopping` })}\n`);
  process.kill(process.pid, 'SIGTERM');
}

if (process.channel) {
  process.on('disconnect', () => parentGone('its channel closed'));
  // The channel must not keep a child alive that is otherwise done.
  process.channel.unref();
}
setInterval(() => process.ppid !== parent && parentGone(`parent ${parent} exited`), 1_000).unref();
