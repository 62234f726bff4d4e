/** Hotkey → value, as a `Map` or a plain record (for example a parsed `rewards_by_hotkey`). */
export type HotkeyValues = ReadonlyMap<string, number> | Readonly<Record<string, number>>
