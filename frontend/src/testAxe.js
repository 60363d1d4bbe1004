// axe-core in jsdom, for component tests: the WCAG 2.0/2.1 A and AA rules the stack's
// browser tests run (tests/stack/axe.py), serious and critical findings only. Colour
// contrast needs a real layout, so it is left to the browser tests.
import axe from "axe-core";

export async function seriousViolations(container) {
  const results = await axe.run(container, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    rules: { "color-contrast": { enabled: false } },
  });
  return results.violations.filter((v) => ["serious", "critical"].includes(v.impact)).map((v) => v.id);
}
