/**
 * LangGraph's validation package calls vitest's `describe`/`it`/`expect`/hooks as globals.
 * Importing this module first installs them for the importing test file only, so the rest of
 * the suite keeps `globals: false`.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test } from "vitest";

Object.assign(globalThis, {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  test,
});
