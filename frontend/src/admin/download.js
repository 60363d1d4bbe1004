// Save a Blob as a file: the CSV comes through fetch (to carry the Authorization
// header), so the browser is handed an object URL to download instead of a link.
export function saveBlob(blob, filename, doc = document) {
  const url = URL.createObjectURL(blob);
  const link = doc.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  doc.body.append(link);
  link.click();
  link.remove();
  // Revoked on the next turn: the click has started the download by then.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
