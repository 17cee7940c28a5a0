/**
 * Kinds of task errors that do not come from the engine, named in the engine's style so a
 * client handles one vocabulary (`-32000`'s `data.kind`; all listed in openrpc.json).
 */
export const WorkerErrorKind = {
  /** The script overran its deadline and its thread had to be stopped (Rhai's name for a run cut short). */
  terminated: 'ErrorTerminated',
  /** The script's thread ran out of heap. */
  outOfMemory: 'ErrorOutOfMemory',
  /** The script's thread crashed or exited; not the script's own doing as far as anyone can tell. */
  system: 'ErrorSystem',
  /** The play's caller had stopped waiting (-32003) before a worker took it: nothing ran. */
  playExpired: 'ErrorPlayExpired',
  /** Other plays kept changing what the script read until its caller stopped waiting. */
  storeConflict: 'ErrorStoreConflict',
  /** The script's writes would take the circle store over its quota. */
  storeQuota: 'ErrorStoreQuota',
  /** The task record was not one a worker can run (no script, bad input, wrong circle...). */
  malformedTask: 'ErrorMalformedTask',
} as const;

export type WorkerErrorKind = (typeof WorkerErrorKind)[keyof typeof WorkerErrorKind];
