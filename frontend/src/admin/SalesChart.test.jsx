import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { MinuteTable, niceCeil, SalesChart, summarize } from "./SalesChart.jsx";

// Minutes built from local wall times so the clock labels don't depend on the zone.
const at = (h, m) => new Date(2026, 10, 27, h, m).toISOString();
const minutes = [
  { minute: at(10, 0), unitsSold: 0, unitsCancelled: 0, orders: 0, stock: 100 },
  { minute: at(10, 1), unitsSold: 12, unitsCancelled: 0, orders: 7, stock: 88 },
  { minute: at(10, 2), unitsSold: 5, unitsCancelled: 2, orders: 3, stock: 85 },
];

describe("niceCeil", () => {
  it.each([
    [0, 1],
    [1, 1],
    [3, 5],
    [12, 20],
    [100, 100],
    [101, 200],
    [4999, 5000],
  ])("rounds %d up to %d", (value, nice) => expect(niceCeil(value)).toBe(nice));
});

describe("summarize", () => {
  it("tells the chart in one sentence", () => {
    expect(summarize(minutes)).toBe(
      "17 units sold in the last 3 minutes; most in one minute: 12 at 10:01; 2 cancelled; stock went from 100 to 85.",
    );
  });

  it("says when there is nothing yet", () => {
    expect(summarize([])).toBe("No data for this window yet.");
  });
});

describe("SalesChart", () => {
  it("is one image named by its title and summary", () => {
    render(<SalesChart minutes={minutes} />);
    const chart = screen.getByRole("img");
    expect(chart).toHaveAccessibleName(
      expect.stringContaining("Units sold per minute and stock over time 17 units sold"),
    );
  });

  it("draws a bar for each minute with sales, scaled to the left axis, and one stock line", () => {
    const { container } = render(<SalesChart minutes={minutes} />);
    const bars = container.querySelectorAll("rect.bar");
    expect(bars).toHaveLength(2);
    const [twelve, five] = [...bars].map((bar) => Number(bar.getAttribute("height")));
    // Axis max 20: 12 units are 60% of the plot, 5 units 25%.
    expect(five / twelve).toBeCloseTo(5 / 12, 5);
    expect(bars[0].querySelector("title")).toHaveTextContent("10:01: 12 sold, stock 88");
    const path = container.querySelector("path.stock-line").getAttribute("d");
    expect(path.match(/[ML]/g)).toHaveLength(3);
    expect(screen.getByText("Stock at the end of the minute (right axis)")).toBeInTheDocument();
  });

  it("draws no line and no bars for an empty window", () => {
    const { container } = render(<SalesChart minutes={[]} />);
    expect(container.querySelector("path.stock-line")).toBeNull();
    expect(screen.getByRole("img")).toHaveAccessibleName(expect.stringContaining("No data"));
  });
});

describe("MinuteTable", () => {
  it("gives every number of the chart as a table behind a disclosure", async () => {
    render(<MinuteTable minutes={minutes} />);
    await userEvent.setup().click(screen.getByText("The chart as a table"));
    const table = screen.getByRole("table", { name: "Minute by minute, oldest first" });
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(4);
    expect(rows[2]).toHaveTextContent(/10:01\s*12\s*0\s*7\s*88/);
  });
});
