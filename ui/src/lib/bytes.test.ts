import { describe, expect, it } from "vitest";
import { formatBytes } from "./bytes";

describe("formatBytes", () => {
  it("uses the biggest whole unit", () => {
    expect(formatBytes(4 * 2 ** 30)).toBe("4.0 GiB");
    expect(formatBytes(100_000_000)).toBe("95.4 MiB");
    expect(formatBytes(2048)).toBe("2.0 KiB");
    expect(formatBytes(12)).toBe("12 bytes");
  });
});
