/** Saving an export in the browser: a Blob behind an `<a download>` link, clicked once, then revoked. */
import type { ExportFile } from "./formats";

/** Offer `file` as a download named `file.filename` (browser only). */
export function downloadExport(file: ExportFile, doc: Document = document): void {
  const url = URL.createObjectURL(new Blob([file.text], { type: file.mimeType }));
  const a = doc.createElement("a");
  a.href = url;
  a.download = file.filename;
  a.style.display = "none";
  doc.body.appendChild(a);
  a.click();
  a.remove();
  // The click has handed the Blob to the download; free it once the event loop moves on.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
