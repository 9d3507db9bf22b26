export const MESH: Readonly<{
  snapshotTtlMs: number;
  doTimeoutMs: number;
  keepStaleMs: number;
  routeTtlMs: number;
  reportFlushMs: number;
  reportUrgentGapMs: number;
  reportMaxBatch: number;
  maxPicksPerBatch: number;
  heartbeatsPerLease: number;
  sweepPeriodS: number;
  sweepRpcsPerService: number;
  sweepKvWrites: number;
  kvListPage: number;
  heapBytesPerService: number;
  heapBytesPerSnapshotInstance: number;
  heapBytesPerBufferedOutcome: number;
}>;
export const LIMITS: Readonly<{
  doRequestsPerSecond: number;
  kvWritesPerKeyPerSecond: number;
  subrequestsPerRequest: number;
  simultaneousConnections: number;
  isolateMemoryBytes: number;
}>;
