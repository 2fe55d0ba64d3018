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
