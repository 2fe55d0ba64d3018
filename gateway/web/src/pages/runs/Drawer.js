import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';

/**
 * A side panel over the page, on the native <dialog> (focus kept inside, Escape closes it). Rendered only
 * while open; `onClose` runs on Escape, the close button or a click on the backdrop.
 */
export function Drawer({ title, onClose, testid, children }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.open && dialog.close();
  }, []);
  return html`<dialog
    ref=${ref}
    class="drawer"
    aria-label=${typeof title === 'string' ? title : undefined}
    data-testid=${testid}
    onCancel=${(e) => {
      e.preventDefault();
      onClose();
    }}
    onClick=${(e) => e.target === e.currentTarget && onClose()}
  >
    <div class="drawer-body">
      <header class="drawer-head">
        <h2 class="card-heading">${title}</h2>
        <button type="button" class="btn btn-ghost btn-sm" data-testid="drawer-close" onClick=${onClose}>Close</button>
      </header>
      ${children}
    </div>
  </dialog>`;
}
