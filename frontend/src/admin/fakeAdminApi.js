// A fake admin API for the console's tests: sales in memory, calls recorded.
import { vi } from "vitest";

export const minute = (h, m, fields = {}) => ({
  minute: new Date(2026, 10, 27, h, m).toISOString(),
  unitsSold: 0,
  unitsCancelled: 0,
  orders: 0,
  stock: 10,
  ...fields,
});

export function sale(fields = {}) {
  return {
    productId: "lamp",
    name: "Desk lamp",
    price: 24.5,
    stock: 8,
    shards: 1,
    cancelWindowMinutes: 15,
    state: "live",
    unitsSold: 2,
    unitsCancelled: 0,
    orders: 2,
    cancelledOrders: 0,
    revenue: 49,
    ...fields,
  };
}

export function room(fields = {}) {
  return {
    productId: "lamp",
    phase: "OPEN",
    queueLength: 4200,
    admittedThrough: 1200,
    outstanding: 35,
    ratePerSecond: 20,
    passSeconds: 120,
    unitsLeft: 640,
    preCount: 4000,
    ...fields,
  };
}

export function fakeAdminApi(sales = [sale()], overrides = {}) {
  const live = (productId) => {
    const found = sales.find((s) => s.productId === productId);
    if (!found) return Promise.reject(Object.assign(new Error(`no sale ${productId}`), { code: "PRODUCT_NOT_FOUND" }));
    return Promise.resolve({
      sale: found,
      serverTime: "2026-11-27T10:05:00.000000Z",
      minutes: [minute(10, 3, { stock: 10 }), minute(10, 4, { unitsSold: 2, orders: 2, stock: 8 })],
      rejections: { OUT_OF_STOCK: 0, SALE_NOT_ACTIVE: 3, PURCHASE_LIMIT_EXCEEDED: 1, BUSY: 0 },
    });
  };
  return {
    listSales: vi.fn(async () => ({ sales, count: sales.length })),
    putSale: vi.fn(async (productId, body) => ({ ...sale(), ...body, productId })),
    restock: vi.fn(async (productId, units) => ({ ...sales.find((s) => s.productId === productId), stock: 8 + units })),
    endSale: vi.fn(async (productId) => ({ ...sales.find((s) => s.productId === productId), state: "ended" })),
    live: vi.fn(live),
    orders: vi.fn(async () => ({ orders: [] })),
    ordersCsv: vi.fn(async () => new Blob([""])),
    cancelOrder: vi.fn(),
    room: vi.fn(async (productId) => room({ productId })),
    setRoomRate: vi.fn(async (productId, ratePerSecond) => room({ productId, ratePerSecond })),
    ...overrides,
  };
}
