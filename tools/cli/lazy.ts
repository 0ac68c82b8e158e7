// Command actions that load their module only when the command runs: `soc --help` and `soc --version` then
// import commander and the command table, not the database, NATS and detection code behind every command.

/** The action `pick(module)`, loaded from `load()` when the command runs. */
export function lazy<M>(load: () => Promise<M>, pick: (m: M) => (...args: never[]) => unknown): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    await (pick(await load()) as (...a: unknown[]) => unknown)(...args);
  };
}
