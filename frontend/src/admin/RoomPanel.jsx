import { useCallback, useId, useState } from "react";
import { describeAdminError } from "./adminApi.js";
import { usePoll } from "./usePoll.js";

const PHASE_LABELS = { PREQUEUE: "Taking joins before the start", OPEN: "Letting shoppers in", SOLD_OUT: "Sold out" };
const number = new Intl.NumberFormat("en-US");

// A sale's waiting room, live: how many queue, how many were let in, the passes still
// unused, and the admission rate, which the operator can change while the sale runs.
export function RoomPanel({ api, productId, intervalMs }) {
  const load = useCallback(() => api.room(productId), [api, productId]);
  const { data, error, loaded, refresh } = usePoll(load, intervalMs);
  const [rate, setRate] = useState("");
  const [fieldError, setFieldError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [saving, setSaving] = useState(false);
  const id = useId();

  async function submit(event) {
    event.preventDefault();
    const raw = rate.trim();
    // The range is the API's to enforce: its INVALID_REQUEST message is shown as it comes.
    if (!/^\d+$/.test(raw) || Number(raw) < 1) {
      setFieldError("Enter a whole number of shoppers per second, 1 or more.");
      return;
    }
    setFieldError(null);
    setNotice(null);
    setSaving(true);
    try {
      const changed = await api.setRoomRate(productId, Number(raw));
      setRate("");
      setNotice({ kind: "info", headline: `Admission rate is now ${number.format(changed.ratePerSecond)} shoppers per second.` });
      refresh();
    } catch (failure) {
      const { headline, detail } = describeAdminError(failure);
      if (failure?.code === "INVALID_REQUEST") setFieldError(detail || headline);
      else setNotice({ kind: "error", headline, detail });
    } finally {
      setSaving(false);
    }
  }

  let figures;
  if (!loaded) figures = <p aria-busy="true">Loading the waiting room…</p>;
  else if (!data)
    figures = (
      <p role="alert">
        <strong>{describeAdminError(error).headline}</strong> {describeAdminError(error).detail}
      </p>
    );
  else
    figures = (
      <>
        {error && (
          <p className="stale" role="alert">
            Not refreshed: {describeAdminError(error).headline}
          </p>
        )}
        <p>
          <span data-testid="room-phase">{PHASE_LABELS[data.phase] ?? data.phase}</span>
          {data.preCount != null && <>, {number.format(data.preCount)} shuffled at the start</>}
        </p>
        <dl className="figures">
          <div>
            <dt>In the queue</dt>
            <dd data-testid="room-queue-length">{number.format(data.queueLength)}</dd>
          </div>
          <div>
            <dt>Admitted</dt>
            <dd data-testid="room-admitted">{number.format(data.admittedThrough)}</dd>
          </div>
          <div>
            <dt>Passes outstanding</dt>
            <dd data-testid="room-outstanding">{number.format(data.outstanding)}</dd>
          </div>
          <div>
            <dt>Units left</dt>
            <dd data-testid="room-units-left">{number.format(data.unitsLeft)}</dd>
          </div>
          <div>
            <dt>Admission rate</dt>
            <dd data-testid="room-rate">{number.format(data.ratePerSecond)}/s</dd>
          </div>
          <div>
            <dt>Pass lifetime</dt>
            <dd data-testid="room-pass-seconds">{number.format(data.passSeconds)} s</dd>
          </div>
        </dl>
      </>
    );

  return (
    <section className="panel room-panel" aria-labelledby={`${id}-heading`} data-testid="room-panel">
      <h3 id={`${id}-heading`}>Waiting room</h3>
      {figures}
      <form className="restock room-rate" onSubmit={submit} noValidate>
        <label htmlFor={`${id}-rate`}>New admission rate (shoppers per second)</label>
        <input
          id={`${id}-rate`}
          inputMode="numeric"
          value={rate}
          onChange={(event) => setRate(event.target.value)}
          aria-invalid={fieldError ? true : undefined}
          aria-describedby={fieldError ? `${id}-rate-error` : undefined}
          size={6}
        />
        <button type="submit" disabled={saving}>
          {saving ? "Changing…" : "Change rate"}
        </button>
        {fieldError && (
          <p className="field-error" id={`${id}-rate-error`}>
            {fieldError}
          </p>
        )}
      </form>
      <div className={`notice ${notice?.kind ?? ""}`} role={notice?.kind === "error" ? "alert" : "status"}>
        {notice && (
          <>
            <strong>{notice.headline}</strong> {notice.detail && <span>{notice.detail}</span>}
          </>
        )}
      </div>
    </section>
  );
}
