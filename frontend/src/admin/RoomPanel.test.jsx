import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api.js";
import { seriousViolations } from "../testAxe.js";
import { fakeAdminApi, room } from "./fakeAdminApi.js";
import { RoomPanel } from "./RoomPanel.jsx";

describe("RoomPanel", () => {
  it("shows the queue, the admitted, the outstanding passes, the units left and the rate", async () => {
    const api = fakeAdminApi();
    render(<RoomPanel api={api} productId="lamp" intervalMs={3000} />);
    expect(await screen.findByTestId("room-queue-length")).toHaveTextContent("4,200");
    expect(api.room).toHaveBeenCalledWith("lamp");
    expect(screen.getByRole("region", { name: "Waiting room" })).toBeInTheDocument();
    expect(screen.getByTestId("room-admitted")).toHaveTextContent("1,200");
    expect(screen.getByTestId("room-outstanding")).toHaveTextContent("35");
    expect(screen.getByTestId("room-units-left")).toHaveTextContent("640");
    expect(screen.getByTestId("room-rate")).toHaveTextContent("20/s");
    expect(screen.getByTestId("room-pass-seconds")).toHaveTextContent("120 s");
    expect(screen.getByTestId("room-phase")).toHaveTextContent("Letting shoppers in");
    expect(screen.getByText(/4,000 shuffled at the start/)).toBeInTheDocument();
  });

  it("refreshes with the live view", async () => {
    let admitted = 1200;
    const api = fakeAdminApi([], { room: vi.fn(async () => room({ admittedThrough: admitted })) });
    render(<RoomPanel api={api} productId="lamp" intervalMs={30} />);
    await waitFor(() => expect(screen.getByTestId("room-admitted")).toHaveTextContent("1,200"));
    admitted = 1500;
    await waitFor(() => expect(screen.getByTestId("room-admitted")).toHaveTextContent("1,500"));
  });

  it("changes the rate live and says so", async () => {
    const api = fakeAdminApi();
    render(<RoomPanel api={api} productId="lamp" intervalMs={3000} />);
    const user = userEvent.setup();
    await screen.findByTestId("room-rate");
    await user.type(screen.getByLabelText("New admission rate (shoppers per second)"), "50");
    await user.click(screen.getByRole("button", { name: "Change rate" }));
    expect(await screen.findByText("Admission rate is now 50 shoppers per second.")).toBeInTheDocument();
    expect(api.setRoomRate).toHaveBeenCalledWith("lamp", 50);
    expect(screen.getByLabelText("New admission rate (shoppers per second)")).toHaveValue("");
    await waitFor(() => expect(api.room).toHaveBeenCalledTimes(2));
  });

  it.each(["", "0", "2.5", "fast"])("refuses the rate %j without asking the API", async (typed) => {
    const api = fakeAdminApi();
    render(<RoomPanel api={api} productId="lamp" intervalMs={3000} />);
    const user = userEvent.setup();
    const input = screen.getByLabelText("New admission rate (shoppers per second)");
    if (typed) await user.type(input, typed);
    await user.click(screen.getByRole("button", { name: "Change rate" }));
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input).toHaveAccessibleDescription("Enter a whole number of shoppers per second, 1 or more.");
    expect(api.setRoomRate).not.toHaveBeenCalled();
  });

  it("shows the API's reason at the field when it refuses the rate", async () => {
    const api = fakeAdminApi([], {
      setRoomRate: vi.fn().mockRejectedValue(new ApiError(400, "INVALID_REQUEST", "ratePerSecond must be at most 10000")),
    });
    render(<RoomPanel api={api} productId="lamp" intervalMs={3000} />);
    const user = userEvent.setup();
    const input = screen.getByLabelText("New admission rate (shoppers per second)");
    await user.type(input, "20000");
    await user.click(screen.getByRole("button", { name: "Change rate" }));
    await waitFor(() => expect(input).toHaveAccessibleDescription("ratePerSecond must be at most 10000"));
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(await seriousViolations(document.body)).toEqual([]);
  });

  it("reports any other refusal as an alert", async () => {
    const api = fakeAdminApi([], {
      setRoomRate: vi.fn().mockRejectedValue(new ApiError(403, "FORBIDDEN", "admins only")),
    });
    render(<RoomPanel api={api} productId="lamp" intervalMs={3000} />);
    const user = userEvent.setup();
    await screen.findByTestId("room-rate");
    await user.type(screen.getByLabelText("New admission rate (shoppers per second)"), "5");
    await user.click(screen.getByRole("button", { name: "Change rate" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Your account may not use the operator console");
  });

  it("says when the room can't be read", async () => {
    const api = fakeAdminApi([], { room: vi.fn().mockRejectedValue(new ApiError(404, "PRODUCT_NOT_FOUND", "no room")) });
    render(<RoomPanel api={api} productId="lamp" intervalMs={3000} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("There is no sale with this id. no room");
  });
});
