// What a page put focus on stays in view while the rest of the page arrives. A conversation opened by a link
// (from a lead's page) has its heading focused as soon as it loads, often before the inbox's list above it: the
// list then pushed it thousands of pixels down a phone's screen, the page still at its top. The browser's own
// scroll anchoring does not help there (it anchors to what is on screen, the top of the page).

const SETTLE_MS = 3000; // how long a page is taken to be arriving after it focused something
const USER_MOVES = ['wheel', 'touchstart', 'pointerdown', 'keydown'];

/**
 * Watches `root` (the app) from now on: an element a page focuses itself (one with tabindex="-1", a heading
 * or an alert; never the page's <main>, which "Skip to content" focuses) is scrolled back into view whenever the
 * page's height changes in the next few seconds, until the user scrolls, taps, clicks or presses a key.
 */
export function keepFocusInView(root, { settleMs = SETTLE_MS, now = () => performance.now() } = {}) {
  let target = null;
  let until = 0;

  root.addEventListener('focusin', (e) => {
    const el = e.target;
    const pageFocused = el instanceof HTMLElement && el.getAttribute('tabindex') === '-1' && el.tagName !== 'MAIN';
    target = pageFocused ? el : null;
    until = pageFocused ? now() + settleMs : 0;
  });
  for (const type of USER_MOVES) {
    addEventListener(type, () => (target = null), { capture: true, passive: true });
  }
  new ResizeObserver(() => {
    if (!target || now() > until || document.activeElement !== target || !target.isConnected) return;
    const box = target.getBoundingClientRect();
    if (box.top < 0 || box.bottom > innerHeight) target.scrollIntoView({ block: 'start' });
  }).observe(root);
}
