/** Engine limits (all configurable per parse/run). */
export interface EngineLimits {
  /** operation budget per run; 0 = unlimited */
  maxOperations: number;
  /** max nesting of script function / closure calls */
  maxCallLevels: number;
  /** parse-time expression nesting limit at top level */
  maxExprDepth: number;
  /** parse-time expression nesting limit inside functions */
  maxFunctionExprDepth: number;
  /** max string size (UTF-8 bytes, as Rhai counts); 0 = unlimited */
  maxStringSize: number;
  /** max array elements (counted recursively); 0 = unlimited */
  maxArraySize: number;
  /** max object map properties (counted recursively); 0 = unlimited */
  maxMapSize: number;
  /** wall-clock budget for one run in ms; 0 = none */
  deadlineMs: number;
  /**
   * how many operations run between two checks of the deadline (default 16,384: the clock
   * is not free). A host that needs a tight bound in time, whatever one operation costs,
   * lowers it (1 = every operation).
   */
  deadlineCheckOps?: number;
}

/** Release-build Rhai defaults (what the upstream corpus assumes). */
export const RHAI_DEFAULT_LIMITS: Readonly<EngineLimits> = Object.freeze({
  maxOperations: 0,
  maxCallLevels: 64,
  maxExprDepth: 64,
  maxFunctionExprDepth: 32,
  maxStringSize: 0,
  maxArraySize: 0,
  maxMapSize: 0,
  deadlineMs: 0,
});

/** Safe defaults for running untrusted multi-tenant scripts. */
export const SANDBOX_LIMITS: Readonly<EngineLimits> = Object.freeze({
  maxOperations: 50_000_000,
  maxCallLevels: 64,
  maxExprDepth: 64,
  maxFunctionExprDepth: 32,
  maxStringSize: 1 << 20,
  maxArraySize: 100_000,
  maxMapSize: 100_000,
  deadlineMs: 5000,
});
