/**
 * The servers the end-to-end tests start run in process groups of their own (wrangler dev's workerd, Deno).
 * stop() ends a group; so that a test that fails before stop() (or a run cut short) leaves no server
 * behind, every live group is also killed when the test process exits.
 */

const live = new Set<number>();

/** Signal the whole group led by `pid`; a group already gone is fine. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** Kill the group led by `pid` when this process exits, unless released first. */
export function killOnExit(pid: number): void {
  live.add(pid);
}

/** The group led by `pid` has been stopped. */
export function release(pid: number): void {
  live.delete(pid);
}

process.once("exit", () => {
  for (const pid of live) killGroup(pid, "SIGKILL");
});
