import { describe, expect, it } from 'vitest';
import { scrollToShow, visibleWindow } from './virtual';

describe('visibleWindow', () => {
  it('renders the rows in view plus overscan', () => {
    // 10,000 rows of 48 px, a 600 px viewport at the top.
    const w = visibleWindow(10000, 48, 0, 600, 6);
    expect(w).toEqual({ start: 0, end: 13 + 6, offset: 0, total: 480000 });
  });
  it('follows the scroll position', () => {
    const w = visibleWindow(10000, 48, 48 * 5000 + 10, 600, 6);
    expect(w.start).toBe(5000 - 6);
    expect(w.end).toBe(Math.ceil((48 * 5000 + 10 + 600) / 48) + 6);
    expect(w.offset).toBe(w.start * 48);
    expect(w.end - w.start).toBeLessThan(40); // the DOM stays small
  });
  it('clamps at the bottom (overscroll) and the top', () => {
    const bottom = visibleWindow(10000, 48, 10 ** 9, 600, 6);
    expect(bottom.end).toBe(10000);
    expect(bottom.start).toBe(10000 - Math.ceil(600 / 48) - 6);
    expect(visibleWindow(10, 48, -50, 600).start).toBe(0);
  });
  it('is empty for no rows', () => {
    expect(visibleWindow(0, 48, 0, 600)).toEqual({ start: 0, end: 0, offset: 0, total: 0 });
  });
  it('renders everything when it all fits', () => {
    expect(visibleWindow(5, 48, 0, 600)).toMatchObject({ start: 0, end: 5 });
  });
});

describe('scrollToShow', () => {
  it('does not move when the row is visible', () => expect(scrollToShow(3, 48, 0, 600)).toBe(0));
  it('scrolls up to a row above', () => expect(scrollToShow(2, 48, 480, 600)).toBe(96));
  it('scrolls down just enough for a row below', () => expect(scrollToShow(20, 48, 0, 600)).toBe(21 * 48 - 600));
});
