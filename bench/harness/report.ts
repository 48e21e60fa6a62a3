/** Plain-text tables for the bench's stdout. */

export type Cell = string | number;

/** Formats a number with thousands separators and `digits` decimals. */
export function num(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return "-";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A difference, with its sign always shown. */
export const signed = (x: number, digits = 0) => (x >= 0 ? `+${num(x, digits)}` : num(x, digits));

export const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : "-");

/** A table with a header row; numbers are right-aligned, text left-aligned. */
export function table(header: string[], rows: Cell[][]): string {
  const text = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, c) => Math.max(...text.map((row) => (row[c] ?? "").length)));
  const numeric = header.map((_, c) =>
    rows.every((row) => typeof row[c] === "number" || /^[\d.,x%+-]+$|^-$/.test(String(row[c]))),
  );
  const line = (row: string[]) =>
    row
      .map((cell, c) => (numeric[c] && c > 0 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(text[0]!), rule, ...text.slice(1).map(line)].join("\n");
}

/** A titled section. */
export function section(title: string, ...body: string[]): string {
  return [`\n${title}`, "=".repeat(title.length), ...body].join("\n");
}
