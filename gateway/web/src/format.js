// Small display helpers shared by pages.

/** "companyDomain" -> "Company domain", "linkedinUrl" -> "Linkedin URL". */
export function humanize(key) {
  const words = String(key)
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase()
    .replace(/\b(url|id|api)\b/g, (w) => w.toUpperCase());
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** ISO timestamp -> local date+time; null -> an em dash. */
export function formatTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

export const isHttpUrl = (v) => typeof v === 'string' && /^https?:\/\//i.test(v);

/** ISO timestamp -> "5 min ago" / "yesterday"-ish; falls back to formatTime beyond a week. */
export function formatAgo(iso, now = Date.now()) {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((now - t) / 1000);
  if (s < 0 || s >= 7 * 86400) return formatTime(iso);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  return d === 1 ? '1 day ago' : `${d} days ago`;
}

/** "Ada" + "Lovelace" -> "Ada Lovelace"; falls back to the email, then to `fallback`. */
export function personName(lead, fallback = 'Unnamed lead') {
  const name = [lead?.firstName, lead?.lastName].filter(Boolean).join(' ').trim();
  return name || lead?.email || fallback;
}

/** ["a", "b", "c", "d"] -> "a, b, c +1" (at most `max` shown). */
export function listPreview(items, max = 3) {
  const list = (items || []).filter(Boolean);
  if (list.length <= max) return list.join(', ');
  return `${list.slice(0, max).join(', ')} +${list.length - max}`;
}

/** What a CSV import under way is doing: sending the file (with how much has gone), then writing it. */
export function importState(progress) {
  return progress >= 1 ? 'Writing leads…' : `Importing… ${Math.floor(progress * 100)}%`;
}
