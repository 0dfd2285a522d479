// A horizontal bar chart of the medians (with min-max whiskers), one group per benchmark, each
// group on its own scale. Plain SVG text: no dependency.
export interface ChartRow {
  readonly group: string;
  readonly label: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

// Rewind's rows in one colour, the raw tools' (and growth's sizes) in another.
const REWIND = "#c0504d";
const RAW = "#4a78b5";

export function renderChart(title: string, rows: readonly ChartRow[]): string {
  const labelW = 300;
  const barW = 420;
  const rowH = 22;
  const parts: string[] = [];
  let y = 40;
  const groups = [...new Set(rows.map((r) => r.group))];
  for (const group of groups) {
    const members = rows.filter((r) => r.group === group);
    const scale = Math.max(...members.map((r) => r.max)) || 1;
    parts.push(`<text x="10" y="${y + 14}" font-weight="bold">${esc(group)}</text>`);
    y += rowH;
    for (const r of members) {
      const w = (r.median / scale) * barW;
      const x0 = labelW + (r.min / scale) * barW;
      const x1 = labelW + (r.max / scale) * barW;
      parts.push(
        `<text x="20" y="${y + 14}">${esc(r.label)}</text>`,
        `<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="14" fill="${r.label.startsWith("rewind") ? REWIND : RAW}"/>`,
        `<line x1="${x0.toFixed(1)}" y1="${y + 10}" x2="${x1.toFixed(1)}" y2="${y + 10}" stroke="#222"/>`,
        `<text x="${labelW + barW + 10}" y="${y + 14}">${esc(`${r.median.toFixed(2)} ${r.unit}`)}</text>`,
      );
      y += rowH;
    }
    y += 8;
  }
  const width = labelW + barW + 140;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}
