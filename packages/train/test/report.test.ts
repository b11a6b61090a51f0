import { describe, expect, it } from 'vitest';
import { lineChartSvg } from '../src/index.js';

/** The y-axis tick labels of a chart: the `text-anchor="end"` labels left of the plot. */
function yTicks(svg: string): number[] {
  return [...svg.matchAll(/<text x="50" y="[^"]+" text-anchor="end">([^<]+)<\/text>/g)].map((m) => Number(m[1]));
}

describe('lineChartSvg', () => {
  it('spans a flat series by ±10% of its value, not ±0.5', () => {
    const ticks = yTicks(lineChartSvg('accuracy', [{ label: 'a', points: [[1, 0.8], [2, 0.8]] }]));
    expect(ticks.length).toBeGreaterThan(1);
    expect(Math.min(...ticks)).toBeGreaterThanOrEqual(0.72 - 0.01 - 1e-9);
    expect(Math.max(...ticks)).toBeLessThanOrEqual(0.88 + 0.01 + 1e-9);
  });

  it('spans a varying series from its minimum to its maximum (5% padding)', () => {
    const ticks = yTicks(lineChartSvg('loss', [{ label: 'l', points: [[0, 2], [1, 4]] }]));
    expect(Math.min(...ticks)).toBeGreaterThanOrEqual(1.9);
    expect(Math.max(...ticks)).toBeLessThanOrEqual(4.1);
    expect(ticks).toContain(2);
    expect(ticks).toContain(4);
  });

  it('draws a zero series around zero', () => {
    const ticks = yTicks(lineChartSvg('zero', [{ label: 'z', points: [[0, 0], [1, 0]] }]));
    expect(Math.min(...ticks)).toBeLessThan(0);
    expect(Math.max(...ticks)).toBeGreaterThan(0);
  });
});
