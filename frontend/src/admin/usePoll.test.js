import { act, renderHook, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { usePoll } from "./usePoll.js";

beforeEach(() => vi.useFakeTimers({ shouldAdvanceTime: true }));
afterEach(() => vi.useRealTimers());

function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

it("loads at once, then every interval", async () => {
  let n = 0;
  const load = vi.fn(async () => ++n);
  const { result } = renderHook(() => usePoll(load, 3000));
  await waitFor(() => expect(result.current.data).toBe(1));
  await act(() => vi.advanceTimersByTimeAsync(3000));
  expect(result.current.data).toBe(2);
  await act(() => vi.advanceTimersByTimeAsync(6000));
  expect(result.current.data).toBe(4);
});

it("never sends two requests at once, and runs a refresh asked for meanwhile right after", async () => {
  const answers = [];
  const load = vi.fn(() => {
    const answer = deferred();
    answers.push(answer);
    return answer.promise;
  });
  const { result } = renderHook(() => usePoll(load, 3000));
  expect(load).toHaveBeenCalledTimes(1);
  act(() => {
    result.current.refresh();
    result.current.refresh();
  });
  expect(load).toHaveBeenCalledTimes(1);
  await act(async () => answers[0].resolve("old"));
  expect(load).toHaveBeenCalledTimes(2);
  await act(async () => answers[1].resolve("after the change"));
  expect(result.current.data).toBe("after the change");
  expect(load).toHaveBeenCalledTimes(2);
});

it("keeps the last data when a refresh fails", async () => {
  const load = vi.fn().mockResolvedValueOnce("good").mockRejectedValueOnce(new Error("down"));
  const { result } = renderHook(() => usePoll(load, 3000));
  await waitFor(() => expect(result.current.data).toBe("good"));
  await act(() => vi.advanceTimersByTimeAsync(3000));
  expect(result.current.error.message).toBe("down");
  expect(result.current.data).toBe("good");
});

it("ignores an answer meant for the previous sale", async () => {
  const slow = deferred();
  const first = vi.fn(() => slow.promise);
  const second = vi.fn(async () => "sale B");
  const { result, rerender } = renderHook(({ load }) => usePoll(load, 3000), { initialProps: { load: first } });
  rerender({ load: second });
  await act(async () => slow.resolve("sale A"));
  await waitFor(() => expect(result.current.data).toBe("sale B"));
  expect(second).toHaveBeenCalled();
});

it("skips ticks while the tab is hidden and refreshes when it comes back", async () => {
  const load = vi.fn(async () => "x");
  renderHook(() => usePoll(load, 3000));
  await waitFor(() => expect(load).toHaveBeenCalledTimes(1));
  const visibility = vi.spyOn(document, "visibilityState", "get").mockReturnValue("hidden");
  await act(() => vi.advanceTimersByTimeAsync(9000));
  expect(load).toHaveBeenCalledTimes(1);
  visibility.mockReturnValue("visible");
  await act(async () => document.dispatchEvent(new Event("visibilitychange")));
  expect(load).toHaveBeenCalledTimes(2);
});
