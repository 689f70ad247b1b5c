/**
 * How large a config may be. sersync's own file is 3 KB; these bounds are far above any real
 * one and keep a damaged or hostile file from taking the daemon's memory and time (a 100 MB file
 * took 42 s and 3.5 GB before). docs/configuration.md lists them.
 */
export const XML_LIMITS = {
  /** The whole file, in characters (bytes, for an ASCII file). */
  fileChars: 16 * 1024 * 1024,
  /** Elements in the file (100,000 `<exclude>` lines is already ~5 MB). */
  elements: 100_000,
  /** One attribute value (a path, a regex, a command). */
  valueChars: 65_536,
  /** Nesting; confxml.xml nests five levels deep. */
  depth: 64,
} as const;
