/**
 * The reaper: a tiny detached watchdog that cleans up after a parent that died without stopping its
 * control plane (SIGKILL, a crashed jest, a closed terminal).
 *
 * It is a separate process because a process cannot clean up after its own SIGKILL. It polls the
 * parent's pid; once the parent is gone it sends SIGTERM, then SIGKILL, to every process group listed
 * in the state file, removes the work directory, and exits. A normal stop deletes the state file
 * first, which tells the reaper to exit without touching anything.
 *
 * The script is plain JavaScript run with `node -e`, so it works the same from `src/` (ts-jest) and
 * from `dist/` without a separate build output.
 */
export const REAPER_SCRIPT = `
const fs = require('node:fs');
const [parentPid, stateFile] = process.argv.slice(1);
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const readState = () => { try { return JSON.parse(fs.readFileSync(stateFile, 'utf8')); } catch { return undefined; } };
const killGroups = (groups, signal) => { for (const g of groups) { try { process.kill(-g, signal); } catch {} } };
const timer = setInterval(() => {
  const state = readState();
  if (!state) { clearInterval(timer); return; }
  if (alive(Number(parentPid))) return;
  clearInterval(timer);
  killGroups(state.groups, 'SIGTERM');
  setTimeout(() => {
    killGroups(state.groups, 'SIGKILL');
    try { fs.rmSync(state.workDir, { recursive: true, force: true }); } catch {}
    try { fs.rmSync(stateFile, { force: true }); } catch {}
  }, 3000);
}, 250);
`;
