/** How much the webhook path logs. `WARN` (the default) logs only refused or failed deliveries. */
export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";

const RANK: Record<LogLevel, number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };

export type Logger = Record<"debug" | "info" | "warn" | "error", (message: string) => void>;

/** A logger that prefixes `[convex-kinde]` and drops messages below `level`. */
export function createLogger(level: LogLevel = "WARN"): Logger {
  const at = (messageLevel: LogLevel, write: (...data: unknown[]) => void) => (message: string) => {
    if (RANK[messageLevel] >= RANK[level]) write("[convex-kinde]", message);
  };
  return {
    debug: at("DEBUG", console.debug),
    info: at("INFO", console.info),
    warn: at("WARN", console.warn),
    error: at("ERROR", console.error),
  };
}
