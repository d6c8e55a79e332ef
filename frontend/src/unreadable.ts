// Records the engine could not read when it started (the `unreadable`
// operation): the banner's words. Pure, so that vitest checks them.

export interface SetAside {
  kind: string; // "job" | "setting"
  key: string;
  reason: string;
  copy: string; // "" when the copy could not be written
  time: string;
}

/** summary is one sentence for the banner ("" when nothing was set aside). */
export function unreadableSummary(recs: SetAside[]): string {
  if (!recs.length) return '';
  const counts = new Map<string, number>();
  let dir = '';
  for (const r of recs) {
    counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
    if (r.copy) dir = r.copy.replace(/[\\/][^\\/]*$/, '');
  }
  const parts = [...counts].map(([kind, n]) => `${n} ${kind}${n === 1 ? '' : 's'}`);
  const where = dir ? `copies are in ${dir}` : "they are kept in the database's quarantine table";
  return `${parts.join(', ')} could not be read when the engine started and ${recs.length === 1 ? 'was' : 'were'} set aside; ${where}. Everything else works.`;
}
