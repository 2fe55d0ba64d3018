// Keyboard shortcuts the whole app shares: `/` to the page's search box. Pure except `focusPageSearch`.

// A list box takes no typed text of its own (a letter only jumps to an option), so `/` on one is the shortcut too.
const TYPING = new Set(['TEXTAREA']);
// Inputs that take no typed text: a `/` pressed on them is the shortcut.
const NOT_TYPED = new Set(['checkbox', 'radio', 'file', 'button', 'submit', 'reset', 'image', 'range', 'color']);

/** The user is typing somewhere (a text field, a text area, an editable region): a key is theirs, not a shortcut. */
export function isTyping(target) {
  if (!target) return false;
  if (target.tagName === 'INPUT') return !NOT_TYPED.has(String(target.type || 'text').toLowerCase());
  return TYPING.has(target.tagName) || !!target.isContentEditable || target.getAttribute?.('role') === 'textbox';
}

/** `/` pressed on the page, with no modifier, not while typing or when something else already took it. */
export function isSearchShortcut(event) {
  return (
    event.key === '/' && !event.ctrlKey && !event.metaKey && !event.altKey && !event.defaultPrevented && !isTyping(event.target)
  );
}

/**
 * Focuses the page's search box (`[data-page-search]`, else the first search field in the main area), first
 * telling the page (a bubbling `pagesearch` event) so a box folded away (the leads filters on a phone) opens.
 * True when there was one.
 */
export function focusPageSearch(root = document) {
  const box = root.querySelector('main [data-page-search]') || root.querySelector('main input[type="search"]');
  if (!box) return false;
  box.dispatchEvent(new CustomEvent('pagesearch', { bubbles: true }));
  // After the page has re-rendered the box into view.
  requestAnimationFrame(() => {
    box.focus();
    box.select?.();
  });
  return true;
}
