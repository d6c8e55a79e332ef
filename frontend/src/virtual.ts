// Windowing for the job list: only the rows in (or near) the viewport exist
// in the DOM, so 10,000 jobs cost as much to draw as 30.

export interface Window {
  /** first row index to render */
  start: number;
  /** one past the last row index to render */
  end: number;
  /** top offset in pixels of the first rendered row */
  offset: number;
  /** height of the whole list in pixels (the scroll range) */
  total: number;
}

/**
 * visibleWindow returns the rows to render for a scroll position: those
 * that intersect the viewport, plus overscan rows on each side so that fast
 * scrolling does not show blanks before the next frame.
 */
export function visibleWindow(count: number, rowHeight: number, scrollTop: number, viewport: number, overscan = 6): Window {
  const total = Math.max(0, count * rowHeight);
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0, offset: 0, total };
  const top = Math.min(Math.max(0, scrollTop), Math.max(0, total - viewport));
  const first = Math.floor(top / rowHeight);
  const last = Math.ceil((top + Math.max(0, viewport)) / rowHeight); // exclusive
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, last + overscan);
  return { start, end, offset: start * rowHeight, total };
}

/**
 * scrollToShow returns the scrollTop that brings row index into view with
 * the least movement (unchanged when it is visible already).
 */
export function scrollToShow(index: number, rowHeight: number, scrollTop: number, viewport: number): number {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewport) return Math.max(0, bottom - viewport);
  return scrollTop;
}
