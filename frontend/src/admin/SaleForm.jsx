import { useEffect, useId, useRef, useState } from "react";
import { Link, navigate } from "../router.jsx";
import { describeAdminError } from "./adminApi.js";
import { isoToLocalInput, localInputToIso, localZoneName } from "./time.js";

// Create or edit a sale. The form checks what it can know (required fields, whole
// numbers, the window's order, an id already taken); ranges and formats are the API's
// to enforce, and its INVALID_REQUEST message is shown as it comes.

const ID = /^[A-Za-z0-9][A-Za-z0-9_.@:-]*$/;
const DEFAULT_CANCEL_WINDOW = "15";
const DEFAULT_PASS_SECONDS = "120";

const EMPTY = {
  productId: "",
  name: "",
  description: "",
  imageUrl: "",
  price: "",
  stock: "",
  shards: "",
  maxPerUser: "",
  saleStartsAt: "",
  saleEndsAt: "",
  cancelWindowMinutes: DEFAULT_CANCEL_WINDOW,
  roomOn: false,
  roomWasOn: false,
  roomRate: "",
  roomPassSeconds: DEFAULT_PASS_SECONDS,
};

export function toForm(sale) {
  const text = (value) => (value === undefined || value === null ? "" : String(value));
  return {
    productId: sale.productId,
    name: text(sale.name),
    description: text(sale.description),
    imageUrl: text(sale.imageUrl),
    price: text(sale.price),
    stock: text(sale.stock),
    shards: text(sale.shards),
    maxPerUser: text(sale.maxPerUser),
    saleStartsAt: isoToLocalInput(sale.saleStartsAt),
    saleEndsAt: isoToLocalInput(sale.saleEndsAt),
    cancelWindowMinutes: text(sale.cancelWindowMinutes ?? DEFAULT_CANCEL_WINDOW),
    roomOn: Boolean(sale.waitingRoom),
    roomWasOn: Boolean(sale.waitingRoom),
    roomRate: text(sale.waitingRoom?.ratePerSecond),
    roomPassSeconds: text(sale.waitingRoom?.passSeconds ?? DEFAULT_PASS_SECONDS),
  };
}

const slug = (name) =>
  name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);

// The PUT body, or the fields' errors. Blank optional fields are left out: the PUT
// replaces the sale, so a cleared limit or window is removed. The waiting room is sent
// when on, and as null only to switch off one that was on: a sale that never had one
// is saved exactly as before.
export function toBody(form, { creating, takenIds = new Set() }) {
  const errors = {};
  const body = {};
  const whole = (field, label, { required = false, min = 0 } = {}) => {
    const raw = form[field].trim();
    if (!raw) {
      if (required) errors[field] = `${label} is required.`;
      return;
    }
    if (!/^\d+$/.test(raw) || Number(raw) < min) {
      errors[field] = `${label} must be a whole number${min > 0 ? ` of at least ${min}` : ""}.`;
      return;
    }
    body[field] = Number(raw);
  };

  if (creating) {
    const id = form.productId.trim();
    if (!id) errors.productId = "Product id is required.";
    else if (!ID.test(id)) errors.productId = "Use letters, digits and _ . @ : - only, starting with a letter or digit.";
    else if (takenIds.has(id)) errors.productId = "A sale with this id exists. Edit it instead, or choose another id.";
  }
  const name = form.name.trim();
  if (!name) errors.name = "Name is required.";
  else body.name = name;
  if (form.description.trim()) body.description = form.description.trim();
  if (form.imageUrl.trim()) body.imageUrl = form.imageUrl.trim();
  const price = form.price.trim();
  if (!price) errors.price = "Price is required.";
  else if (!/^\d+(\.\d+)?$/.test(price) || Number(price) <= 0) errors.price = "Price must be a number above 0.";
  else body.price = Number(price);
  whole("stock", "Stock", { required: true });
  whole("shards", "Shards", { min: 1 });
  whole("maxPerUser", "Per-shopper limit", { min: 1 });
  const starts = localInputToIso(form.saleStartsAt);
  const ends = localInputToIso(form.saleEndsAt);
  if (form.saleStartsAt && !starts) errors.saleStartsAt = "Enter a date and time.";
  if (form.saleEndsAt && !ends) errors.saleEndsAt = "Enter a date and time.";
  if (starts) body.saleStartsAt = starts;
  if (ends) body.saleEndsAt = ends;
  if (starts && ends && Date.parse(ends) <= Date.parse(starts)) errors.saleEndsAt = "The sale must end after it starts.";
  whole("cancelWindowMinutes", "Cancel window", { required: true });
  if (form.roomOn) {
    const room = {};
    const positive = (field, key, label) => {
      const raw = form[field].trim();
      if (!raw) errors[field] = `${label} is required for a waiting room.`;
      else if (!/^\d+$/.test(raw) || Number(raw) < 1) errors[field] = `${label} must be a whole number of at least 1.`;
      else room[key] = Number(raw);
    };
    positive("roomRate", "ratePerSecond", "Admission rate");
    positive("roomPassSeconds", "passSeconds", "Pass lifetime");
    if (room.ratePerSecond && room.passSeconds) body.waitingRoom = room;
  } else if (form.roomWasOn) {
    body.waitingRoom = null;
  }
  return { body, errors };
}

const LABELS = {
  productId: "Product id",
  name: "Name",
  description: "Description",
  imageUrl: "Image URL",
  price: "Price (USD)",
  stock: "Stock",
  shards: "Shards",
  maxPerUser: "Per-shopper limit",
  saleStartsAt: "Sale starts",
  saleEndsAt: "Sale ends",
  cancelWindowMinutes: "Cancel window (minutes)",
  roomRate: "Admission rate (shoppers per second)",
  roomPassSeconds: "Pass lifetime (seconds)",
};

export function SaleForm({ api, productId }) {
  const creating = productId === undefined;
  const [form, setForm] = useState(creating ? EMPTY : null);
  const [sales, setSales] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [errors, setErrors] = useState({});
  const [serverError, setServerError] = useState(null);
  const [saving, setSaving] = useState(false);
  const [idTouched, setIdTouched] = useState(false);
  const summaryRef = useRef(null);
  const id = useId();
  const zone = localZoneName();

  useEffect(() => {
    let live = true;
    api.listSales().then(
      (data) => {
        if (!live) return;
        setSales(data.sales);
        if (!creating) {
          const sale = data.sales.find((s) => s.productId === productId);
          if (sale) setForm(toForm(sale));
          else setLoadError({ code: "PRODUCT_NOT_FOUND", message: `No sale has the id ${productId}.` });
        }
      },
      (error) => live && setLoadError(error),
    );
    return () => {
      live = false;
    };
  }, [api, creating, productId]);

  useEffect(() => {
    if (Object.keys(errors).length > 0 || serverError) summaryRef.current?.focus();
  }, [errors, serverError]);

  if (loadError && (!creating || !sales)) {
    const { headline, detail } = describeAdminError(loadError);
    return (
      <div role="alert">
        <p>
          <strong>{headline}</strong> {detail}
        </p>
        <Link to="/admin">Back to the sales</Link>
      </div>
    );
  }
  if (!form) return <p aria-busy="true">Loading the sale…</p>;

  const original = creating ? null : sales?.find((s) => s.productId === productId);

  function change(field) {
    return (event) => {
      const value = event.target.type === "checkbox" ? event.target.checked : event.target.value;
      setForm((previous) => {
        const next = { ...previous, [field]: value };
        // A new sale's id follows its name until the operator types one.
        if (creating && field === "name" && !idTouched) next.productId = slug(value);
        return next;
      });
      if (field === "productId") setIdTouched(true);
    };
  }

  async function submit(event) {
    event.preventDefault();
    const takenIds = new Set((sales ?? []).map((s) => s.productId));
    const { body, errors: found } = toBody(form, { creating, takenIds });
    setErrors(found);
    setServerError(null);
    if (Object.keys(found).length > 0) return;
    const target = creating ? form.productId.trim() : productId;
    setSaving(true);
    try {
      await api.putSale(target, body);
      navigate(`/admin/sales/${encodeURIComponent(target)}`, {
        state: { flash: creating ? "Sale created." : "Sale saved." },
      });
    } catch (error) {
      setServerError(error);
      setSaving(false);
    }
  }

  const fieldId = (field) => `${id}-${field}`;
  const described = (field, hint) =>
    [hint ? `${fieldId(field)}-hint` : null, errors[field] ? `${fieldId(field)}-error` : null].filter(Boolean).join(" ") ||
    undefined;

  function renderField({ field, hint, type = "text", as = "input", ...attributes }) {
    const Control = as;
    return (
      <div className={`field field-${field}`}>
        <label htmlFor={fieldId(field)}>{LABELS[field]}</label>
        <Control
          id={fieldId(field)}
          name={field}
          type={as === "input" ? type : undefined}
          value={form[field]}
          onChange={change(field)}
          aria-invalid={errors[field] ? true : undefined}
          aria-describedby={described(field, hint)}
          {...attributes}
        />
        {hint && (
          <p className="hint" id={`${fieldId(field)}-hint`}>
            {hint}
          </p>
        )}
        {errors[field] && (
          <p className="field-error" id={`${fieldId(field)}-error`}>
            {errors[field]}
          </p>
        )}
      </div>
    );
  }

  const problems = Object.entries(errors);
  const startsIso = localInputToIso(form.saleStartsAt);
  const endsIso = localInputToIso(form.saleEndsAt);
  return (
    <form className="sale-form" onSubmit={submit} noValidate aria-describedby={`${id}-required`}>
      <p id={`${id}-required`} className="hint">
        Name, price, stock and cancel window are required.
      </p>
      {(problems.length > 0 || serverError) && (
        <div className="error-summary" role="alert" tabIndex={-1} ref={summaryRef}>
          {serverError ? (
            <p>
              <strong>{describeAdminError(serverError).headline}</strong> {describeAdminError(serverError).detail}
            </p>
          ) : (
            <>
              <p>
                <strong>Please fix {problems.length === 1 ? "this field" : `these ${problems.length} fields`}:</strong>
              </p>
              <ul>
                {problems.map(([field, message]) => (
                  <li key={field}>
                    <a href={`#${fieldId(field)}`}>{message}</a>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      <fieldset>
        <legend>Product</legend>
        {creating ? (
          renderField({
            field: "productId",
            hint: "Letters, digits and _ . @ : - (no spaces). Shoppers never see it; it can't be changed later.",
            autoComplete: "off",
            spellCheck: false,
          })
        ) : (
          <p className="field">
            <span className="label">Product id</span> <span className="mono">{productId}</span>
          </p>
        )}
        {renderField({ field: "name", autoComplete: "off", maxLength: 200 })}
        {renderField({ field: "description", as: "textarea", rows: 3, maxLength: 2000 })}
        {renderField({ field: "imageUrl", type: "url", hint: "https://… or a path on this site such as /images/lamp.svg", inputMode: "url" })}
      </fieldset>
      <fieldset>
        <legend>Stock and price</legend>
        <div className="row">
          {renderField({ field: "price", inputMode: "decimal", hint: "At most 2 decimals." })}
          {renderField({
            field: "stock",
            inputMode: "numeric",
            hint: creating
              ? "Units for sale."
              : `Sets the stock level (${original?.stock ?? "?"} left when this page opened). While the sale runs, use Restock on the sale's page to add units: saving here would undo the orders placed meanwhile.`,
          })}
        </div>
        <div className="row">
          {renderField({ field: "shards", inputMode: "numeric", hint: "1–32 items for a hot product; blank lets the server choose from the stock." })}
          {renderField({ field: "maxPerUser", inputMode: "numeric", hint: "Units one shopper may buy; blank for no limit." })}
        </div>
      </fieldset>
      <fieldset>
        <legend>Sale window</legend>
        <p className="hint">Times are in your time zone, {zone}. Leave blank for no start or no end.</p>
        <div className="row">
          {renderField({ field: "saleStartsAt", type: "datetime-local", hint: startsIso ? `Sent as ${startsIso}` : "Opens at once." })}
          {renderField({ field: "saleEndsAt", type: "datetime-local", hint: endsIso ? `Sent as ${endsIso}` : "Runs until sold out or ended." })}
        </div>
        {renderField({
          field: "cancelWindowMinutes",
          inputMode: "numeric",
          hint: "How long shoppers may cancel their own order after buying. Operators can always cancel.",
        })}
      </fieldset>
      <fieldset>
        <legend>Waiting room</legend>
        <div className="field field-roomOn checkbox">
          <label htmlFor={fieldId("roomOn")}>
            <input
              id={fieldId("roomOn")}
              name="roomOn"
              type="checkbox"
              checked={form.roomOn}
              onChange={change("roomOn")}
              aria-describedby={`${fieldId("roomOn")}-hint`}
            />{" "}
            Waiting room
          </label>
          <p className="hint" id={`${fieldId("roomOn")}-hint`}>
            For a hot drop: shoppers join a queue, everyone who joins before the start gets a random place, and they
            are let in at the admission rate with a pass to buy. Off, the sale works as it always has.
          </p>
        </div>
        {form.roomOn && (
          <div className="row">
            {renderField({
              field: "roomRate",
              inputMode: "numeric",
              hint: "Shoppers let in per second; it can be changed live on the sale's page.",
            })}
            {renderField({
              field: "roomPassSeconds",
              inputMode: "numeric",
              hint: "How long a let-in shopper has to buy before the place goes to the next.",
            })}
          </div>
        )}
      </fieldset>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={saving}>
          {saving ? "Saving…" : creating ? "Create sale" : "Save changes"}
        </button>
        <Link to={creating ? "/admin" : `/admin/sales/${encodeURIComponent(productId)}`}>Back without saving</Link>
      </div>
    </form>
  );
}
