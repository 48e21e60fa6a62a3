import { useEffect, useState } from "react";

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const steps: [Intl.RelativeTimeFormatUnit, number][] = [
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 365],
];

/** "3 minutes ago", kept current; the exact time on hover. */
export function TimeAgo({ ms }: { ms: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);

  // Never "in 2 seconds": the server's clock may run slightly ahead of this one.
  let value = Math.min(ms - now, 0) / 1000;
  let unit: Intl.RelativeTimeFormatUnit = "year";
  for (const [name, size] of steps) {
    if (Math.abs(value) < size) {
      unit = name;
      break;
    }
    value /= size;
  }
  return (
    <time dateTime={new Date(ms).toISOString()} title={new Date(ms).toLocaleString()}>
      {relative.format(Math.round(value), unit)}
    </time>
  );
}
