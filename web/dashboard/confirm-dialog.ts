import { byId } from './dom.js';

/**
 * Asks before every action, in a <dialog> in the page (not window.confirm):
 * it can say what will happen, and a browser test can press its buttons.
 * Resolves true only when the person pressed Confirm.
 */
export function confirmAction(title: string, detail: string, confirmLabel = 'Confirm'): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  byId('confirm-title').textContent = title;
  byId('confirm-detail').textContent = detail;
  byId('confirm-ok').textContent = confirmLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        resolve(dialog.returnValue === 'ok');
      },
      { once: true },
    );
    dialog.showModal();
  });
}
