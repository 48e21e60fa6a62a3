/** How much convex-kinde logs; the default is `logLevelOf` in `config.ts`. */
export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";

const RANK: Record<LogLevel, number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };

export type Logger = Record<"debug" | "info" | "warn" | "error", (message: string) => void>;

/** A logger that prefixes `[convex-kinde]` and drops messages below `level`. */
export function createLogger(level: LogLevel): Logger {
  // `console` is looked up per call, not captured, so a console replaced later still receives the line.
  const at = (messageLevel: LogLevel, method: keyof Logger) => (message: string) => {
    if (RANK[messageLevel] >= RANK[level]) console[method]("[convex-kinde]", message);
  };
  return {
    debug: at("DEBUG", "debug"),
    info: at("INFO", "info"),
    warn: at("WARN", "warn"),
    error: at("ERROR", "error"),
  };
}
