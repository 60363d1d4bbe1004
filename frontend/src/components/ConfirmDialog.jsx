import { useEffect, useId, useRef } from "react";

// A modal question before anything that can't be undone (cancel an order, end a sale).
// The native <dialog> traps focus, closes on Escape and makes the page behind it inert;
// the safe answer comes first, so it is the one focused when the dialog opens.
export function ConfirmDialog({ title, children, confirmLabel, cancelLabel = "Go back", busy, onConfirm, onCancel }) {
  const ref = useRef(null);
  const titleId = useId();
  const bodyId = useId();

  useEffect(() => {
    const dialog = ref.current;
    dialog.showModal();
    return () => dialog.close();
  }, []);

  return (
    <dialog
      ref={ref}
      className="confirm"
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      onCancel={(event) => {
        // Escape: let the owner decide (and unmount us) instead of closing behind its back.
        event.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      <div id={bodyId}>{children}</div>
      <div className="confirm-actions">
        <button type="button" onClick={onCancel} disabled={busy}>
          {cancelLabel}
        </button>
        <button type="button" className="danger" onClick={onConfirm} disabled={busy}>
          {busy ? "Working…" : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
