// Pure: a list's total in words, as every table's header says it ("1,234 runs", "10,000+ runs": the server's
// count stops at its cap, so a huge list's first page stays fast). Unit-tested.

const n = (value) => Number(value).toLocaleString('en-US');

/** "1,234 runs", "1 run", "10,000+ runs" past the server's cap; '' when the list was not counted. */
export function countWords(total, capped, one, many) {
  if (total === null || total === undefined) return '';
  if (capped) return `${n(total)}+ ${many}`;
  return `${n(total)} ${total === 1 ? one : many}`;
}

/** A list's URL with these query parameters set (its own kept): ("/v1/tasks?state=done", {limit: 50}). */
export function withParams(path, params) {
  const [base, query = ''] = path.split('?');
  const search = new URLSearchParams(query);
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') search.delete(name);
    else search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `${base}?${text}` : base;
}
