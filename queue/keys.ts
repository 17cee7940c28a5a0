/**
 * Every Redis key name Circles uses, in one place (SPEC §4). `prefix` defaults to the
 * rhailib shape; tests pass a random one so parallel specs never see each other's keys.
 */
export interface KeyBuilder {
  task(taskId: string): string;
  workQueue(circlePk: string): string;
  processing(circlePk: string, workerId: string): string;
  workerAlive(workerId: string): string;
  /** The ids of the workers that serve a circle (set), so reclaim finds their lists without a SCAN. */
  circleWorkers(circlePk: string): string;
  replyQueue(instanceId: string): string;
  /** Replies a dispatcher has taken off its queue and not yet routed (recovered after a reconnect). */
  replyInflight(instanceId: string): string;
  /** A circle's store: values (hash key → JSON), versions (hash key → commit seq), key index (zset), meta (hash: seq, kseq, bytes, indexed). */
  store(circlePk: string): string;
  storeVersions(circlePk: string): string;
  storeIndex(circlePk: string): string;
  storeMeta(circlePk: string): string;
  webhookMarker(provider: string, circlePk: string, eventKey: string): string;
}

export function keyBuilder(namespace = ''): KeyBuilder {
  const rh = `${namespace}rhailib:`;
  const circles = `${namespace}circles:`;
  return {
    task: (taskId) => `${rh}${taskId}`,
    workQueue: (pk) => `${rh}${pk}`,
    processing: (pk, workerId) => `${rh}processing:${pk}:${workerId}`,
    workerAlive: (workerId) => `${rh}worker:${workerId}`,
    circleWorkers: (pk) => `${rh}workers:${pk}`,
    replyQueue: (instanceId) => `${rh}reply:${instanceId}`,
    replyInflight: (instanceId) => `${rh}reply-inflight:${instanceId}`,
    store: (pk) => `${circles}store:${pk}`,
    storeVersions: (pk) => `${circles}store-version:${pk}`,
    storeIndex: (pk) => `${circles}store-keys:${pk}`,
    storeMeta: (pk) => `${circles}store-meta:${pk}`,
    webhookMarker: (provider, pk, eventKey) => `${circles}webhook:${provider}:${pk}:${eventKey}`,
  };
}
