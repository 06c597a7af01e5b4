import { api, DASHBOARD_ACTOR } from './api-client.js';
import { confirmAction } from './confirm-dialog.js';
import { byId, h } from './dom.js';
import type { FlagList } from './wire-types.js';

/**
 * The feature flags of the default environment with their rollout
 * percentage, and the kill switch: on/off through PATCH /api/v1/flags/:key,
 * the same call as `cutover flags enable|disable`.
 */
export function renderFlags(list: FlagList, onError: (error: unknown) => void): void {
  byId('flags-environment').textContent = list.environment;
  byId('flags-empty').hidden = list.flags.length > 0;
  byId('flag-rows').replaceChildren(
    ...list.flags.map(({ flag, version, updatedBy, stale }) => {
      const button = h(
        'button',
        { type: 'button', 'data-action': flag.enabled ? 'disable' : 'enable' },
        flag.enabled ? 'Turn off' : 'Turn on',
      );
      button.addEventListener('click', () => {
        void (async () => {
          const next = !flag.enabled;
          const ok = await confirmAction(
            `Turn ${flag.key} ${next ? 'on' : 'off'}?`,
            next
              ? 'The flag is evaluated again by its rules and rollout.'
              : 'Every user gets the off variant at once (the kill switch).',
            next ? 'Turn on' : 'Turn off',
          );
          if (!ok) return;
          try {
            const answer = await api<{ pending?: { id: string } }>(
              'PATCH',
              `/api/v1/flags/${encodeURIComponent(flag.key)}?environment=${encodeURIComponent(list.environment)}`,
              { patch: { enabled: next }, actor: DASHBOARD_ACTOR },
            );
            // flags.require_approval: nothing changed yet; say who must do what next.
            if (answer.pending !== undefined)
              onError(
                new Error(
                  `${list.environment} needs a second person's approval: the change ${answer.pending.id} waits (cutover flags approve ${answer.pending.id})`,
                ),
              );
          } catch (error) {
            onError(error);
          }
        })();
      });
      return h(
        'tr',
        { 'data-flag': flag.key },
        h(
          'td',
          {},
          flag.key,
          staleBadge(stale ?? []),
          flag.description ? h('br') : null,
          flag.description ? h('small', {}, flag.description) : null,
        ),
        h('td', { class: flag.enabled ? 'flag-on' : 'flag-off' }, flag.enabled ? 'on' : 'off'),
        h('td', {}, flag.rollout ? `${flag.rollout.percentage}%` : '—'),
        h('td', {}, `v${version} · ${updatedBy}`),
        h('td', {}, button),
      );
    }),
  );
}

/** A small "stale" badge; its title says why and since when (`cutover flags stale` has the list). */
function staleBadge(stale: { reason: string; since: number; detail: string }[]): HTMLElement | null {
  if (stale.length === 0) return null;
  const why = stale.map((entry) => `${entry.detail} (since ${new Date(entry.since).toISOString().slice(0, 10)})`);
  return h(
    'span',
    { class: 'badge-stale', 'data-stale': stale.map((entry) => entry.reason).join(' '), title: why.join('; ') },
    'stale',
  );
}
