import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The main window's size and place, remembered between launches. A saved place is used only if the window would
 * still show on one of today's screens (a laptop unplugged from its second monitor must not open the window off
 * screen), and sizes are kept within what the screen can hold.
 */

export interface Rectangle {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  width: number;
  height: number;
  /** Absent: let the system centre the window. */
  x?: number;
  y?: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW_STATE: WindowState = { width: 1200, height: 800, maximized: false };
export const MIN_WINDOW_SIZE = { width: 800, height: 560 };
/** How much of the window's top must be on a screen to be reachable with the mouse. */
const VISIBLE_GRIP = { width: 100, height: 40 };

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The state to open the window with, from what was saved (anything, possibly damaged) and the screens' work areas. */
export function restoreWindowState(saved: unknown, workAreas: readonly Rectangle[]): WindowState {
  const record = typeof saved === 'object' && saved !== null ? (saved as Record<string, unknown>) : {};
  const largest = workAreas.reduce((best, area) => (area.width * area.height > best.width * best.height ? area : best), workAreas[0] ?? { x: 0, y: 0, width: 1920, height: 1080 });
  const clamp = (value: unknown, fallback: number, min: number, max: number) => Math.round(Math.min(Math.max(isFiniteNumber(value) ? value : fallback, min), Math.max(min, max)));
  const state: WindowState = {
    width: clamp(record.width, DEFAULT_WINDOW_STATE.width, MIN_WINDOW_SIZE.width, largest.width),
    height: clamp(record.height, DEFAULT_WINDOW_STATE.height, MIN_WINDOW_SIZE.height, largest.height),
    maximized: record.maximized === true,
  };
  if (isFiniteNumber(record.x) && isFiniteNumber(record.y)) {
    const grip = { x: record.x, y: record.y, width: Math.min(state.width, VISIBLE_GRIP.width), height: VISIBLE_GRIP.height };
    if (workAreas.some((area) => contains(area, grip))) Object.assign(state, { x: Math.round(record.x), y: Math.round(record.y) });
  }
  return state;
}

function contains(outer: Rectangle, inner: Rectangle): boolean {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
}

/** What was saved, or undefined when there is nothing readable. */
export function readWindowState(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Saves through a temporary file, so a crash mid-write leaves the previous state, never half a file. */
export function writeWindowState(file: string, state: WindowState): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state)}\n`);
  renameSync(temporary, file);
}
