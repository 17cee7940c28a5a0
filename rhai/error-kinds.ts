/**
 * Every kind of error the engine reports, named as Rhai names its `EvalAltResult` variants so a
 * client handles one vocabulary (`RhaiError.kind`; openrpc.json lists them all, with the
 * worker's own kinds from worker/error-kinds.ts).
 */
export type RhaiErrorKind =
  /** syntax error (or a parse-time limit): nothing ran */
  | 'ErrorParsing'
  | 'ErrorVariableNotFound'
  | 'ErrorFunctionNotFound'
  /** an error escaped a script function or closure; `inner` holds it, the position is the call's */
  | 'ErrorInFunctionCall'
  | 'ErrorMismatchDataType'
  /** no indexer for that value and index type (`5["a"]`) */
  | 'ErrorIndexingType'
  | 'ErrorArrayBounds'
  | 'ErrorStringBounds'
  | 'ErrorBitFieldBounds'
  /** integer overflow, division by zero, bad radix or number text */
  | 'ErrorArithmetic'
  | 'ErrorAssignmentToConstant'
  /** a mutating method (`push`, ...) called on a constant */
  | 'ErrorNonPureMethodCallOnConstant'
  /** unknown property on a value that is not a map */
  | 'ErrorDotExpr'
  /** `for` over something that is not iterable */
  | 'ErrorFor'
  | 'ErrorUnboundThis'
  /** a closure called with `this` bound to one of its own captured variables */
  | 'ErrorDataRace'
  /** `throw`, and refusals of the host store (StoreError) */
  | 'ErrorRuntime'
  /** the operation budget (`maxOperations`) ran out */
  | 'ErrorTooManyOperations'
  /** call depth (`maxCallLevels`) or the JS stack ran out */
  | 'ErrorStackOverflow'
  /** a string, array or map size limit */
  | 'ErrorDataTooLarge'
  /** the run's deadline (`deadlineMs`) passed */
  | 'ErrorTerminated'
  /** an internal failure of the engine (a bug): reported, never a crash */
  | 'ErrorSystem';
