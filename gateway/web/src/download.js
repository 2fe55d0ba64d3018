// Save a Blob as a file from the browser (the anchor + object URL trick),
// for downloads that need our Authorization header and so cannot be links.

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoking at once can cancel the download in some browsers; give it time.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** "leads-2024-05-01.csv" (local date): the name when the server sends none. */
export function datedFilename(prefix, ext, date = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${prefix}-${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}.${ext}`;
}
