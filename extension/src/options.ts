// The options page: the takeover switch (off by default) and what it leaves alone.
import { ext } from './ext';
import { parseOptions } from './logic';

const form = document.getElementById('form') as HTMLFormElement;
const field = (id: string) => document.getElementById(id) as HTMLInputElement;

void ext.storage.local.get('options').then(({ options }) => {
  const o = parseOptions(options);
  field('takeover').checked = o.takeover;
  field('minSize').value = String(o.minSize / (1 << 20));
  field('excludedTypes').value = o.excludedTypes.join(', ');
  field('excludedSites').value = o.excludedSites.join(', ');
});

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const o = parseOptions({
    takeover: field('takeover').checked,
    minSize: Math.round(Number(field('minSize').value || 0) * (1 << 20)),
    excludedTypes: field('excludedTypes').value,
    excludedSites: field('excludedSites').value,
  });
  await ext.storage.local.set({ options: o });
  document.getElementById('saved')!.textContent = 'Saved.';
});
